/**
 * The customer dashboard at /dashboard: signed in through our own login and MFA pages as an OIDC client of
 * this server (see sign-in.ts for why), with API credentials and "Try with code".
 */
export { CustomerCredentials, DASHBOARD_CREDENTIALS_COLLECTION, type Credential } from './credentials.js';
export { dashboardRoutes, type DashboardDependencies } from './routes.js';
export { DashboardSessions, DASHBOARD_SESSIONS_COLLECTION } from './sessions.js';
export { DASHBOARD_CALLBACK_PATH, DashboardSignIn } from './sign-in.js';
export { tokenSnippets } from './snippets.js';
export { createDashboard, DASHBOARD_CLIENT_ID, type DashboardSetup } from './setup.js';
export { createSelfService, type SelfServiceSetup } from './self-service-setup.js';
export { EMAIL_VERIFICATIONS_COLLECTION, SIGN_UP_PATH } from './sign-up.js';
export { SessionDevices, SESSION_DEVICES_COLLECTION } from './session-devices.js';

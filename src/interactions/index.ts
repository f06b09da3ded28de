export { interactionRoutes, type InteractionDependencies } from './routes.js';
export { PendingLogins, PENDING_LOGINS_COLLECTION } from './pending-login.js';
export type { SignInServices } from './sign-in-services.js';

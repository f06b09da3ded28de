export { interactionRoutes, type InteractionDependencies } from './routes.js';
export { interactionPolicyWithStepUp } from './policy.js';
export { PendingLogins, PENDING_LOGINS_COLLECTION } from './pending-login.js';
export type { SignInServices } from './sign-in-services.js';
export { ACR_MFA, ACR_PASSWORD, ACR_VALUES, amrFor, requestsMfa, type SecondFactorMethod } from './acr.js';

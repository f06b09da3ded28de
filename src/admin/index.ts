export { createAdminApp } from './app.js';
export { AdminApiError } from './errors.js';
export { startAdminServer } from './server.js';

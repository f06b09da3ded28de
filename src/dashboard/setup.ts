import type { Middleware } from 'koa';
import type Router from '@koa/router';

import type { Account, AccountService } from '../accounts/index.js';
import type { AuditLog } from '../audit/index.js';
import { ensureInternalClient, PreviousClientSecrets, type ClientRegistry } from '../clients/index.js';
import { servesHttps, type Config } from '../config/index.js';
import { CsrfProtection } from '../http/csrf.js';
import type { DeliveryChannel, MfaService } from '../mfa/index.js';
import { signInSessionOfRequest } from '../provider/index.js';
import type { ServerSecrets } from '../secrets/index.js';
import type { Store } from '../store/index.js';
import type { Views } from '../views/index.js';
import { ActiveTokens } from './active-tokens.js';
import { ConnectedApps } from './connected-apps.js';
import { credentialRoutes } from './credential-routes.js';
import { CustomerCredentials } from './credentials.js';
import { DashboardPages } from './pages.js';
import { dashboardRoutes } from './routes.js';
import { Reauthentication } from './reauthentication.js';
import { RecordReferences } from './references.js';
import { securityNotifier } from './security-notices.js';
import { sessionListRoutes } from './session-list-routes.js';
import type { SessionDevices } from './session-devices.js';
import type { DashboardSessions } from './sessions.js';
import { SignedInSessions } from './signed-in-sessions.js';
import { SudoMode } from './sudo-mode.js';
import { tokenListRoutes } from './token-list-routes.js';
import { DASHBOARD_CALLBACK_PATH, DashboardSignIn } from './sign-in.js';

export const DASHBOARD_CLIENT_ID = 'authtoken-dashboard';

export interface DashboardSetup {
  config: Config;
  /** Created by the caller, which also ends them when an account's password is reset or changed. */
  sessions: DashboardSessions;
  store: Store;
  secrets: ServerSecrets;
  clients: ClientRegistry;
  accounts: AccountService;
  mfa: MfaService;
  audit: AuditLog;
  provider: () => Middleware;
  grantableScopes(account: Account): string[];
  /** The roles a new credential holds: those of the account its scopes require (client tokens carry client roles). */
  credentialRoles(account: Account, scopes: string[]): string[];
  revokeClientTokens(clientId: string): Promise<unknown>;
  revokeGrant(grantId: string): Promise<unknown>;
  /** Device records of the provider's sign-in sessions (written by the provider's session tracking). */
  sessionDevices: SessionDevices;
  /** Whether the account needs a second factor now: a password-only dashboard session of it then ends. */
  secondFactorNeeded(accountId: string): Promise<boolean>;
  /** The application's one template renderer (templates are compiled and cached once). */
  views: Views;
  /** Where security notices go (the channel of one-time codes). */
  channel: DeliveryChannel;
  /** A notice that could not be delivered (the error only, never the message). */
  onDeliveryFailure(error: unknown): void;
}

/** The dashboard's internal OIDC client, its stores, and its routes (mounted before the provider). */
export async function createDashboard(setup: DashboardSetup): Promise<{ routes: Router }> {
  const { config } = setup;
  const secureCookies = servesHttps(config);
  const client = await ensureInternalClient(setup.clients, setup.secrets, {
    clientId: DASHBOARD_CLIENT_ID,
    name: 'AuthToken dashboard',
    grantTypes: ['authorization_code'],
    scopes: ['openid'],
    redirectUris: [`${config.issuer}${DASHBOARD_CALLBACK_PATH}`],
  });
  const credentials = new CustomerCredentials(setup.store, setup.clients, new PreviousClientSecrets(setup.store, setup.secrets));
  await credentials.ensureIndexes();
  const { sessions } = setup;
  const hiddenClientIds = new Set([DASHBOARD_CLIENT_ID]);
  const references = new RecordReferences(setup.secrets);
  const activeTokens = new ActiveTokens(setup.store, setup.clients, references, { hiddenClientIds, revokeGrant: setup.revokeGrant });
  const csrf = new CsrfProtection(setup.secrets, secureCookies);
  const signedInSessions = new SignedInSessions(setup.store, setup.secrets, references, setup.sessionDevices, sessions, secureCookies);
  const pages = new DashboardPages({ views: setup.views, csrf, sessions, accounts: setup.accounts, audit: setup.audit, secondFactorNeeded: setup.secondFactorNeeded });
  const routes = dashboardRoutes({
    issuer: config.issuer,
    pages,
    sessions,
    signedInSessions,
    signIn: new DashboardSignIn(config.issuer, client, setup.provider, secureCookies, (ctx) =>
      signInSessionOfRequest(ctx, setup.store, setup.secrets, secureCookies),
    ),
    credentials,
    mfa: setup.mfa,
    audit: setup.audit,
    connectedApps: new ConnectedApps(setup.store, setup.clients, hiddenClientIds),
    revokeGrant: setup.revokeGrant,
    sections: [
      credentialRoutes({
        issuer: config.issuer,
        pages,
        credentials,
        mfa: setup.mfa,
        sudo: new SudoMode(new Reauthentication(setup.accounts, setup.mfa, sessions, config.dashboard.sudoSeconds)),
        notify: securityNotifier(setup.channel, setup.onDeliveryFailure),
        grantableScopes: setup.grantableScopes,
        credentialRoles: setup.credentialRoles,
        revokeClientTokens: setup.revokeClientTokens,
        provider: setup.provider,
        secretRotationGraceSeconds: config.dashboard.secretRotationGraceSeconds,
      }),
      tokenListRoutes({ pages, activeTokens, credentials, revokeClientTokens: setup.revokeClientTokens }),
      sessionListRoutes(pages, signedInSessions),
    ],
  });
  return { routes };
}

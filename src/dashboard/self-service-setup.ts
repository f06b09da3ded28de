import type Router from '@koa/router';

import { MailboxBudget, secondFactorRequirement, type AccountService } from '../accounts/index.js';
import type { AuditLog } from '../audit/index.js';
import { servesHttps, type Config } from '../config/index.js';
import type { AfterAnswerWork } from '../http/after-answer-work.js';
import { CsrfProtection } from '../http/csrf.js';
import { FixedWindowRateLimiter } from '../http/rate-limit.js';
import type { DeliveryChannel, MfaService } from '../mfa/index.js';
import type { ServerSecrets } from '../secrets/index.js';
import type { Store } from '../store/index.js';
import type { Views } from '../views/index.js';
import { FreshRecoveryCodes } from './fresh-recovery-codes.js';
import { DashboardPages } from './pages.js';
import { Reauthentication } from './reauthentication.js';
import { securityNotifier } from './security-notices.js';
import { securityRoutes } from './security-routes.js';
import type { DashboardSessions } from './sessions.js';
import { signUpRoutes } from './sign-up-routes.js';
import { SelfServiceSignUp } from './sign-up.js';

export interface SelfServiceSetup {
  config: Config;
  /** The application's one template renderer (templates are compiled and cached once). */
  views: Views;
  store: Store;
  secrets: ServerSecrets;
  accounts: AccountService;
  mfa: MfaService;
  audit: AuditLog;
  /** Whether the account needs a second factor now: a password-only dashboard session of it then ends. */
  secondFactorNeeded(accountId: string): Promise<boolean>;
  sessions: DashboardSessions;
  /** Where sign-up links and security notices go (the channel of one-time codes). */
  channel: DeliveryChannel;
  endEverythingOf(accountId: string): Promise<unknown>;
  /** A notice or link that could not be delivered (the error only, never the message). */
  onDeliveryFailure(error: unknown): void;
  /** A sign-up that failed after its answer went out (the error only). */
  onSignUpFailure(error: unknown): void;
  /** Where work done after an answer is tracked, so a shutdown lets it finish. */
  afterAnswer: AfterAnswerWork;
}

/** The customer's own account pages: the security page and sign-up with email verification. */
export async function createSelfService(setup: SelfServiceSetup): Promise<{ routers: Router[] }> {
  const { config, store, secrets, accounts, mfa, channel } = setup;
  const pages = new DashboardPages({
    views: setup.views,
    csrf: new CsrfProtection(secrets, servesHttps(config)),
    sessions: setup.sessions,
    accounts,
    audit: setup.audit,
    secondFactorNeeded: setup.secondFactorNeeded,
  });
  const freshRecoveryCodes = new FreshRecoveryCodes(store, secrets);
  await freshRecoveryCodes.ensureIndexes();
  const signUp = new SelfServiceSignUp(
    store,
    secrets,
    accounts,
    channel,
    { issuer: config.issuer, linkTtlSeconds: config.dashboard.signUpLinkTtlSeconds },
    setup.onDeliveryFailure,
    // Per hour: a stranger can hold up an address's sign-up mail for at most the rest of the hour.
    new MailboxBudget(store, secrets, 'sign-up', config.rateLimits.emailsPerAddress, 3600),
  );
  await signUp.ensureIndexes();

  const notify = securityNotifier(channel, setup.onDeliveryFailure);

  return {
    routers: [
      securityRoutes({
        pages,
        accounts,
        mfa,
        sessions: setup.sessions,
        // Its successes start the credential pages' sudo window too (SudoMode).
        reauthentication: new Reauthentication(accounts, mfa, setup.sessions, config.dashboard.sudoSeconds),
        freshRecoveryCodes,
        mfaRequiredFor: secondFactorRequirement(config.mfa.requiredForAll, accounts),
        endEverythingOf: setup.endEverythingOf,
        notify,
      }),
      signUpRoutes({
        pages,
        signUp,
        enabled: config.dashboard.signUp,
        rateLimiter: new FixedWindowRateLimiter(store, 'dashboard-signup', config.rateLimits.signUp, config.rateLimits.windowSeconds),
        // A confirmation checks a password like the sign-in pages do, so it gets their per-IP budget (its own count).
        confirmationRateLimiter: new FixedWindowRateLimiter(store, 'dashboard-signup-confirmation', config.rateLimits.signInPages, config.rateLimits.windowSeconds),
        linkTtlSeconds: config.dashboard.signUpLinkTtlSeconds,
        onSignUpFailure: setup.onSignUpFailure,
        afterAnswer: setup.afterAnswer,
      }),
    ],
  };
}

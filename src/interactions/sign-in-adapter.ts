import { secondFactorRequirement, type AccountService } from '../accounts/index.js';
import type { Config } from '../config/index.js';
import type { Metrics } from '../http/metrics.js';
import type { FixedWindowRateLimiter } from '../http/rate-limit.js';
import type { MfaMethod, MfaService } from '../mfa/index.js';
import type { SignInServices } from './sign-in-services.js';

/**
 * The login pages' view of accounts and MFA, with exactly the password grant's throttling: the same
 * (account, IP) backoff and per-account ceiling count failed passwords and failed second factors alike.
 * `pageRateLimiter` is the pages' own per-IP budget (RATE_LIMIT_SIGN_IN_PAGES, see app.ts for why it is not
 * the password grant's).
 */
export function signInServices(
  accounts: AccountService,
  mfa: MfaService,
  metrics: Metrics,
  config: Config,
  pageRateLimiter: FixedWindowRateLimiter,
): SignInServices {
  return {
    async admitAttempt(ip) {
      const decision = await pageRateLimiter.consume(ip);
      if (!decision.allowed) metrics.lockouts.inc({ kind: 'rate_limit' });
      return decision;
    },

    async verifyPassword(username, password, ip) {
      const check = await accounts.verifyPassword(username, password, ip);
      if (check.ok) return { ok: true, accountId: check.account.customerId };
      if (check.reason === 'throttled') metrics.lockouts.inc({ kind: check.throttle?.throttled ? check.throttle.reason : 'backoff' });
      return { ok: false };
    },

    methodsOf: (accountId) => mfa.methodsFor(accountId),

    async verifySecondFactor(accountId, method: MfaMethod, code, ip) {
      const account = await accounts.findById(accountId);
      if (!account || account.status !== 'active') return { ok: false, supersededEmailCode: false };
      const input = method === 'recovery_code' ? { recoveryCode: code } : { otp: code, method };
      const result = await mfa.verifySecondFactorGuarded(account, input, ip);
      metrics.mfaChallenges.inc({ method, outcome: result.ok ? 'success' : 'failure' });
      if (!result.ok && result.reason === 'throttled') metrics.lockouts.inc({ kind: 'backoff' });
      if (!result.ok && result.ceilingReached) metrics.lockouts.inc({ kind: 'ceiling' });
      if (result.ok) return { ok: true };
      return { ok: false, supersededEmailCode: result.reason === 'wrong_code' && result.supersededEmailCode === true };
    },

    async sendEmailCode(accountId) {
      const account = await accounts.findById(accountId);
      if (!account) return { sent: false, reason: 'unavailable' };
      const outcome = await mfa.sendEmailCode(account);
      if (outcome.sent) return { sent: true };
      if (outcome.reason === 'hourly_cap') metrics.lockouts.inc({ kind: 'email_code_cap' });
      if (outcome.reason === 'cooldown' || outcome.reason === 'hourly_cap') return outcome;
      return { sent: false, reason: 'unavailable' };
    },

    async startTotpEnrollment(accountId, interactionUid) {
      const account = await accounts.findById(accountId);
      if (!account) throw new Error('account disappeared during sign-in');
      const enrollment = await mfa.enrollTotp(account, `sign-in:${interactionUid}`);
      return { secret: enrollment.secret, otpauthUri: enrollment.uri };
    },

    async confirmTotpEnrollment(accountId, code, interactionUid) {
      if (!(await mfa.confirmTotp(accountId, code, `sign-in:${interactionUid}`))) return false;
      const account = await accounts.findById(accountId);
      if (account) await mfa.notifyAuthenticatorAdded(account, 'while signing in');
      return true;
    },
    generateRecoveryCodes: (accountId) => mfa.generateRecoveryCodes(accountId),
    mfaRequiredFor: secondFactorRequirement(config.mfa.requiredForAll, accounts),
    emailOf: async (accountId) => (await accounts.findById(accountId))?.email,
  };
}

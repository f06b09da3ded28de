import type { Account, AccountService } from '../accounts/index.js';
import type { MfaMethod, MfaService, SecondFactorInput } from '../mfa/index.js';
import type { SignedInCustomer } from './pages.js';
import type { DashboardSessions } from './sessions.js';

/** What a person typed to prove it is them before a sensitive change. */
export interface IdentityProof {
  password: string;
  /** An authenticator code or a recovery code. */
  code: string;
}

export type ReauthenticationResult = { ok: true; factor: 'password' | MfaMethod } | { ok: false; error: string };

/**
 * Re-authentication before sensitive changes (like GitHub's sudo mode or Keycloak's re-authentication for
 * credential changes): a stolen dashboard cookie alone must not remove a factor or replace recovery codes.
 * The person gives the current password, or a code of a second factor they have. Both checks run behind the
 * sign-in throttle, so this form is no better for guessing than the login page; a throttled attempt is
 * answered like a wrong one. Unlike the login pages it has no per-IP budget (RATE_LIMIT_SIGN_IN_PAGES): the
 * account is the signed-in one, so it cannot spray a password across accounts, and guesses at that one
 * account meet its (account, IP) backoff and per-account ceiling.
 *
 * Every success, whatever change it was asked for, starts (or restarts) the dashboard session's sudo window
 * (see SudoMode), as GitHub's sudo mode does: a person who just proved it is them is not asked again for a
 * new credential. Only a success does; using the window never extends it.
 */
export class Reauthentication {
  constructor(
    private readonly accounts: AccountService,
    private readonly mfa: MfaService,
    private readonly sessions: DashboardSessions,
    /** DASHBOARD_SUDO_SECONDS: how long a success spares this session the question for sudo-mode changes (0: never). */
    readonly sudoWindowSeconds: number,
  ) {}

  /** Checks the proof; a success starts (or restarts) this dashboard session's sudo window. */
  async confirm({ account, session }: SignedInCustomer, proof: IdentityProof, ip: string): Promise<ReauthenticationResult> {
    const result = await this.#check(account, proof, ip);
    if (result.ok && this.sudoWindowSeconds > 0) await this.sessions.confirmIdentity(session.id, this.sudoWindowSeconds);
    return result;
  }

  async #check(account: Account, proof: IdentityProof, ip: string): Promise<ReauthenticationResult> {
    if (proof.password) {
      const checked = await this.accounts.verifyPassword(account.customerId, proof.password, ip);
      return checked.ok ? { ok: true, factor: 'password' } : { ok: false, error: 'The password is not correct.' };
    }
    const code = proof.code.replace(/\s+/g, '');
    const methods = await this.mfa.methodsFor(account.customerId);
    // Name only the proofs this account has: its form shows the code field only when it has a second factor.
    if (!code) {
      const ask = methods.length > 0 ? 'enter your password, or a code from your authenticator app' : 'enter your password';
      return { ok: false, error: `Confirm it is you: ${ask}.` };
    }
    const input: SecondFactorInput = /^\d{6}$/.test(code) ? { otp: code, method: 'totp' } : { recoveryCode: code };
    if (methods.length === 0) return { ok: false, error: 'Your account has no second factor: enter your password.' };
    const result = await this.mfa.verifySecondFactorGuarded(account, input, ip);
    return result.ok ? { ok: true, factor: result.method } : { ok: false, error: 'That code is not valid. Check it and try again.' };
  }
}

import type { MfaMethod } from '../mfa/index.js';
import type { SignedInCustomer } from './pages.js';
import type { IdentityProof, Reauthentication } from './reauthentication.js';
import type { DashboardSessions } from './sessions.js';

/** How the person was confirmed: a proof given now, or one given earlier in this session's window. */
export type SudoConfirmation = { ok: true; by: 'password' | MfaMethod | 'earlier_reauthentication' } | { ok: false; error: string };

/**
 * Sudo mode for changes that add API access (a new credential, a new secret), as GitHub asks for the password
 * before such actions: a stolen dashboard cookie alone must not plant lasting access. The proof is checked by
 * the security page's Reauthentication (same factors, same throttle); once it succeeds, this dashboard session
 * (and only it) is confirmed for `windowSeconds`, so a person creating several credentials is asked once.
 * The window runs from the re-authentication and is not extended by use: a stolen session that got past it
 * once does not keep it alive.
 */
export class SudoMode {
  constructor(
    private readonly reauthentication: Reauthentication,
    private readonly sessions: DashboardSessions,
    readonly windowSeconds: number,
  ) {}

  /** For the pages: how long a confirmation lasts, in words, or undefined when every change asks. */
  describeWindow(): string | undefined {
    if (this.windowSeconds <= 0) return undefined;
    if (this.windowSeconds < 60) return `${this.windowSeconds} second${this.windowSeconds === 1 ? '' : 's'}`;
    const minutes = Math.floor(this.windowSeconds / 60);
    return `${minutes} minute${minutes === 1 ? '' : 's'}`;
  }

  /** Whether this session re-authenticated recently enough to skip the question. */
  isConfirmed({ session }: SignedInCustomer): boolean {
    return session.identityConfirmedUntil !== undefined && session.identityConfirmedUntil.getTime() > Date.now();
  }

  /** Confirmed by the window, or by the proof in the form (which then starts the window). */
  async confirm(state: SignedInCustomer, proof: IdentityProof, ip: string): Promise<SudoConfirmation> {
    if (this.isConfirmed(state)) return { ok: true, by: 'earlier_reauthentication' };
    const result = await this.reauthentication.confirm(state.account, proof, ip);
    if (!result.ok) return result;
    if (this.windowSeconds > 0) await this.sessions.confirmIdentity(state.session.id, this.windowSeconds);
    return { ok: true, by: result.factor };
  }
}

import type { MfaMethod } from '../mfa/index.js';
import type { SignedInCustomer } from './pages.js';
import type { IdentityProof, Reauthentication } from './reauthentication.js';

/** How the person was confirmed: a proof given now, or one given earlier in this session's window. */
export type SudoConfirmation = { ok: true; by: 'password' | MfaMethod | 'earlier_reauthentication' } | { ok: false; error: string };

/**
 * Sudo mode for changes that add API access (a new credential, a new secret), as GitHub asks for the password
 * before such actions: a stolen dashboard cookie alone must not plant lasting access. The proof is checked by
 * the dashboard's one Reauthentication (same factors, same throttle), whose every success, here or on the
 * security page, confirms this dashboard session (and only it) for `windowSeconds`, so a person creating several
 * credentials is asked once. The window runs from the latest re-authentication and is not extended by use: a
 * stolen session that got past it once does not keep it alive.
 */
export class SudoMode {
  constructor(private readonly reauthentication: Reauthentication) {}

  get windowSeconds(): number {
    return this.reauthentication.sudoWindowSeconds;
  }

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

  /** Confirmed by the window, or by the proof in the form (whose success starts the window). */
  async confirm(state: SignedInCustomer, proof: IdentityProof, ip: string): Promise<SudoConfirmation> {
    if (this.isConfirmed(state)) return { ok: true, by: 'earlier_reauthentication' };
    const result = await this.reauthentication.confirm(state, proof, ip);
    return result.ok ? { ok: true, by: result.factor } : result;
  }
}

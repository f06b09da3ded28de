import type { Account } from '../accounts/index.js';
import type { DeliveryChannel } from '../mfa/index.js';

/** Tells the owner about a change to their account; never throws (a lost notice must not undo the change). */
export type SecurityNotify = (account: Account, subject: string, text: string) => Promise<void>;

/**
 * The dashboard's security notices, on the channel of one-time codes with the purpose the authenticator
 * notices use. A delivery failure goes to the listener (the error only, never the message).
 */
export function securityNotifier(channel: DeliveryChannel, onDeliveryFailure: (error: unknown) => void): SecurityNotify {
  return async (account, subject, text) => {
    await channel
      .deliver({ accountId: account.customerId, email: account.email, purpose: 'security-notice', subject, text })
      .catch((error: unknown) => onDeliveryFailure(error));
  };
}

function utc(at: Date): string {
  return `${at.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

const NOT_YOU =
  'If this was not you, someone has access to your dashboard: delete the credential, change your password,\n' +
  'and sign out your other sessions under "Signed-in sessions".\n';

/**
 * A new credential is new API access to the account's scopes: the owner hears of it, as of a new factor.
 * Name, client ID and time only; the secret never leaves the page that shows it once.
 */
export function credentialCreatedNotice(credential: { name: string; clientId: string }, at: Date): { subject: string; text: string } {
  return {
    subject: 'A new API credential was created on your account',
    text:
      `The API credential "${credential.name}" (client ID ${credential.clientId}) was created on the dashboard of your AuthToken account at ${utc(at)}.\n` +
      NOT_YOU,
  };
}

/** A rotation hands out a secret the owner may not have: they hear of it, without the secret. */
export function secretRotatedNotice(credential: { name: string; clientId: string }, at: Date, previousValidUntil: Date): { subject: string; text: string } {
  return {
    subject: 'The secret of an API credential was rotated',
    text:
      `The secret of the API credential "${credential.name}" (client ID ${credential.clientId}) was rotated on the dashboard of your AuthToken account at ${utc(at)}.\n` +
      `The previous secret keeps working until ${utc(previousValidUntil)}.\n` +
      NOT_YOU,
  };
}

// The sender lives with the delivery channels (the MFA service sends notices too); the dashboard's texts live here.
export { securityNotifier, type SecurityNotify } from '../mfa/index.js';

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

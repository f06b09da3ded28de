import type { DeliveryChannel } from './channel.js';

/** Whom a notice goes to: the account's id and email. */
export interface NoticeRecipient {
  customerId: string;
  email: string;
}

/** Tells the owner about a change to their account; never throws (a lost notice must not undo the change). */
export type SecurityNotify = (recipient: NoticeRecipient, subject: string, text: string) => Promise<void>;

/**
 * Security notices (a factor added or removed, new recovery codes, a new credential...) on the channel of
 * one-time codes, with their own purpose. A delivery failure goes to the listener (the error only, never the
 * message).
 */
export function securityNotifier(channel: DeliveryChannel, onDeliveryFailure: (error: unknown) => void): SecurityNotify {
  return async (recipient, subject, text) => {
    await channel
      .deliver({ accountId: recipient.customerId, email: recipient.email, purpose: 'security-notice', subject, text })
      .catch((error: unknown) => onDeliveryFailure(error));
  };
}

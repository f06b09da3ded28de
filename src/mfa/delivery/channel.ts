/** Something to tell an account holder: a one-time code, or a security notice. */
export interface DeliveryMessage {
  accountId: string;
  /** Where to send it (the channel decides which address it uses). */
  email: string;
  subject: string;
  text: string;
  purpose: 'mfa-code' | 'security-notice';
}

/**
 * How codes and notices reach people. Email is the one built in; SMS or WhatsApp gateways implement this
 * interface too (see the signed-webhook channel for a gateway-agnostic one).
 */
export interface DeliveryChannel {
  readonly name: string;
  deliver(message: DeliveryMessage): Promise<void>;
  /**
   * Resolves when the channel could deliver now; rejects with a message for the operator naming the setting.
   * Called once at start, so a wrong SMTP setting shows in the log before the first person waits for a code.
   */
  check?(): Promise<void>;
  close?(): void;
}

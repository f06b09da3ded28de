import { createHmac } from 'node:crypto';

import type { DeliveryChannel, DeliveryMessage } from './channel.js';

export interface WebhookChannelOptions {
  url: string;
  /** Shared with the receiver, which recomputes the signature. */
  secret: string;
  timeoutMs: number;
}

export const WEBHOOK_SIGNATURE_HEADER = 'x-authtoken-signature';

/** `t=<unix seconds>,v1=<hex HMAC-SHA-256 of "<t>.<body>">`: the receiver checks it and rejects stale `t`. */
export function signWebhookBody(secret: string, body: string, timestamp: number): string {
  const mac = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
  return `t=${timestamp},v1=${mac}`;
}

/**
 * Hands messages to any gateway (SMS, WhatsApp, a ticketing system) as a signed JSON POST, so a new channel
 * needs a small receiver, not a change here. The signature covers a timestamp against replays.
 */
export class WebhookChannel implements DeliveryChannel {
  readonly name = 'webhook';

  constructor(private readonly options: WebhookChannelOptions) {}

  async deliver(message: DeliveryMessage): Promise<void> {
    const body = JSON.stringify({
      purpose: message.purpose,
      account_id: message.accountId,
      email: message.email,
      subject: message.subject,
      text: message.text,
    });
    const response = await fetch(this.options.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        [WEBHOOK_SIGNATURE_HEADER]: signWebhookBody(this.options.secret, body, Math.floor(Date.now() / 1000)),
      },
      body,
      redirect: 'error',
      signal: AbortSignal.timeout(this.options.timeoutMs),
    });
    await response.body?.cancel();
    if (!response.ok) throw new Error(`delivery webhook answered ${response.status}`);
  }
}

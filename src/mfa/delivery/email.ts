import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import nodemailer, { type Transporter } from 'nodemailer';

import type { DeliveryChannel, DeliveryMessage } from './channel.js';

export interface EmailChannelOptions {
  smtpUrl: string | undefined;
  from: string;
  /** Without SMTP (development only): write .eml files here; unset, print the message to the terminal. */
  devDirectory: string | undefined;
}

/**
 * Email via nodemailer. Without SMTP_URL (refused in production by the config), messages go to .eml files
 * or to the terminal: never to the structured log, which is shipped elsewhere and must not hold codes.
 */
export class EmailChannel implements DeliveryChannel {
  readonly name = 'email';
  readonly #transport: Transporter;
  readonly #from: string;
  readonly #devDirectory: string | undefined;
  readonly #development: boolean;
  /** scheme://host:port of SMTP_URL, without its credentials: what an error may show. */
  readonly #server: string | undefined;

  constructor(options: EmailChannelOptions) {
    this.#from = options.from;
    this.#devDirectory = options.devDirectory;
    this.#development = options.smtpUrl === undefined;
    this.#server = options.smtpUrl ? smtpServerOf(options.smtpUrl) : undefined;
    this.#transport = options.smtpUrl
      ? nodemailer.createTransport(options.smtpUrl)
      : nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  }

  async deliver(message: DeliveryMessage): Promise<void> {
    const info = (await this.#transport.sendMail({
      from: this.#from,
      to: message.email,
      subject: message.subject,
      text: message.text,
    })) as { message?: Buffer | string; messageId?: string };
    if (!this.#development) return;
    const raw = Buffer.isBuffer(info.message) ? info.message.toString() : String(info.message ?? '');
    if (this.#devDirectory) {
      await mkdir(this.#devDirectory, { recursive: true });
      const file = join(this.#devDirectory, `${new Date().toISOString().replace(/[:.]/g, '-')}-${message.purpose}.eml`);
      await writeFile(file, raw, { mode: 0o600 });
      process.stdout.write(`[dev mail] ${message.subject} -> ${message.email}: written to ${file}\n`);
    } else {
      process.stdout.write(`\n----- [dev mail, not sent: SMTP_URL is not set] -----\n${raw}\n----- [end of dev mail] -----\n`);
    }
  }

  /** Connects (and authenticates, when SMTP_URL carries credentials) without sending anything. */
  async check(): Promise<void> {
    if (this.#development) return;
    try {
      await this.#transport.verify();
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(`SMTP_URL: the mail server ${this.#server ?? ''} did not accept a connection: ${reason}`, { cause: error });
    }
  }

  close(): void {
    this.#transport.close();
  }
}

function smtpServerOf(smtpUrl: string): string {
  try {
    const url = new URL(smtpUrl);
    return `${url.protocol}//${url.host}`;
  } catch {
    return '(unparseable URL)';
  }
}

import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  to: string[];
  raw: string;
  /** The raw message with its quoted-printable encoding undone (soft line breaks joined, =XX decoded). */
  text: string;
}

function decodeQuotedPrintable(raw: string): string {
  const joined = raw.replace(/=\r?\n/g, '');
  return Buffer.from(joined.replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))), 'latin1').toString('utf8');
}

/** A real SMTP server in-process on 127.0.0.1, collecting what the server under test sends. */
export class TestMailbox {
  readonly messages: ReceivedMail[] = [];
  #waiters: Array<() => void> = [];
  #server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData: (stream, session, callback) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString();
        this.messages.push({ to: session.envelope.rcptTo.map((recipient) => recipient.address), raw, text: decodeQuotedPrintable(raw) });
        for (const wake of this.#waiters.splice(0)) wake();
        callback();
      });
    },
  });
  port = 0;

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', () => resolve()));
    const address = this.#server.server.address();
    this.port = typeof address === 'object' && address ? address.port : 0;
  }

  get url(): string {
    return `smtp://127.0.0.1:${this.port}`;
  }

  /** The next message to this address (bounded wait: the caller's test timeout). */
  async nextMessageTo(address: string, after = 0): Promise<ReceivedMail> {
    for (;;) {
      const found = this.messages.slice(after).find((message) => message.to.includes(address));
      if (found) return found;
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  /** The six-digit code in the latest message to this address. */
  async codeSentTo(address: string, after: number): Promise<string> {
    const message = await this.nextMessageTo(address, after);
    const match = /code is (\d{6})/.exec(message.raw);
    if (!match?.[1]) throw new Error('no code in the message');
    return match[1];
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

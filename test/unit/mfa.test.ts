import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { jest } from '@jest/globals';
import { generate, generateSecret } from 'otplib';

import { AccountService } from '../../src/accounts/index.js';
import { loadConfig } from '../../src/config/index.js';
import { EmailChannel, MfaService, type DeliveryChannel, type DeliveryMessage } from '../../src/mfa/index.js';
import { ServerSecrets } from '../../src/secrets/index.js';
import { MemoryStore } from '../../src/store/memory.js';
import { windowWithSecondsLeft } from '../support/clock.js';
import { freePort } from '../support/ferretdb.js';
import { TestMailbox } from '../support/smtp.js';

/** Keeps what would have been sent, to read the code back. */
class CollectingChannel implements DeliveryChannel {
  readonly name = 'collecting';
  readonly sent: DeliveryMessage[] = [];
  async deliver(message: DeliveryMessage): Promise<void> {
    this.sent.push(message);
  }
  lastCode(): string {
    return /code is (\d{6})/.exec(this.sent.at(-1)?.text ?? '')?.[1] ?? '';
  }
}

const secrets = new ServerSecrets({ id: 't', key: randomBytes(32) });
const subject = { customerId: 'C-unit-test', email: 'unit@example.com' };

function accountsOn(store: MemoryStore): AccountService {
  const throttle = { freeFailures: 1, backoffBaseMs: 60_000, backoffMaxMs: 60_000, accountCeiling: 1000, accountWindowSeconds: 60, knownAddressDays: 30 };
  return new AccountService(store, secrets, { argon2: { memoryKib: 19456, timeCost: 2, parallelism: 1 }, throttle });
}

describe('MfaService', () => {
  let store: MemoryStore;
  let channel: CollectingChannel;
  let mfa: MfaService;
  beforeEach(async () => {
    store = new MemoryStore();
    channel = new CollectingChannel();
    mfa = new MfaService(store, secrets, loadConfig({ EMAIL_CODE_RESEND_COOLDOWN_SECONDS: '0' }), channel, accountsOn(store));
    await mfa.totp.install(subject.customerId, generateSecret());
  });
  afterEach(async () => {
    await store.close();
  });

  test('an emailed code allows 5 attempts: after 5 wrong ones the right one fails too', async () => {
    expect(await mfa.sendEmailCode(subject)).toEqual({ sent: true });
    const code = channel.lastCode();
    const wrong = code === '000000' ? '111111' : '000000';
    for (let attempt = 0; attempt < 5; attempt += 1) expect(await mfa.emailCodes.verify(subject.customerId, wrong)).toBe('refused');
    expect(await mfa.emailCodes.verify(subject.customerId, code)).toBe('refused');
  });

  test('the code a newer email replaced is told apart but never accepted, and spends an attempt like a wrong one', async () => {
    await mfa.sendEmailCode(subject);
    const older = channel.lastCode();
    let newer: string;
    // Sent again on the one chance in a million that the newer email holds the same code.
    do {
      await mfa.sendEmailCode(subject);
      newer = channel.lastCode();
    } while (newer === older);
    expect(await mfa.verifySecondFactor(subject.customerId, { otp: older, method: 'email' })).toEqual({ ok: false, supersededEmailCode: true });
    for (let attempt = 1; attempt < 5; attempt += 1) expect(await mfa.emailCodes.verify(subject.customerId, older)).toBe('superseded');
    // The attempts of the pending code are spent: nothing is told apart any more, and the newer code fails too.
    expect(await mfa.emailCodes.verify(subject.customerId, older)).toBe('refused');
    expect(await mfa.emailCodes.verify(subject.customerId, newer)).toBe('refused');
  });

  test('an emailed code works once, and the stored value is not the code', async () => {
    await mfa.sendEmailCode(subject);
    const code = channel.lastCode();
    const stored = JSON.stringify(await store.collection('mfa_email_codes').find({}));
    expect(stored).not.toContain(code);
    expect(await mfa.verifySecondFactor(subject.customerId, { otp: code })).toEqual({ ok: true, method: 'email' });
    expect(await mfa.verifySecondFactor(subject.customerId, { otp: code })).toEqual({ ok: false });
  });

  test('the resend cooldown refuses a second code within the window', async () => {
    const strict = new MfaService(store, secrets, loadConfig({ EMAIL_CODE_RESEND_COOLDOWN_SECONDS: '30' }), channel, accountsOn(store));
    expect(await strict.sendEmailCode(subject)).toEqual({ sent: true });
    const second = await strict.sendEmailCode(subject);
    expect(second).toMatchObject({ sent: false, reason: 'cooldown' });
    expect(channel.sent).toHaveLength(1);
  });

  test('past EMAIL_CODE_MAX_PER_HOUR codes in the hour no code is made or sent, and the one sent last still works', async () => {
    // The cap counts per clock hour: all of this inside one.
    await windowWithSecondsLeft(3600, 10);
    const capped = new MfaService(store, secrets, loadConfig({ EMAIL_CODE_RESEND_COOLDOWN_SECONDS: '0', EMAIL_CODE_MAX_PER_HOUR: '3' }), channel, accountsOn(store));
    for (let sent = 0; sent < 3; sent += 1) expect(await capped.sendEmailCode(subject)).toEqual({ sent: true });
    const lastCode = channel.lastCode();
    const refused = await capped.sendEmailCode(subject);
    expect(refused).toMatchObject({ sent: false, reason: 'hourly_cap' });
    expect(refused.sent === false && 'retryAfterSeconds' in refused ? refused.retryAfterSeconds : 0).toBeGreaterThan(0);
    expect(channel.sent).toHaveLength(3);
    expect(await capped.verifySecondFactor(subject.customerId, { otp: lastCode, method: 'email' })).toEqual({ ok: true, method: 'email' });
  });

  test('requests the cooldown refuses do not spend the hourly cap: it counts codes sent, not clicks', async () => {
    await windowWithSecondsLeft(3600, 10);
    const capped = new MfaService(store, secrets, loadConfig({ EMAIL_CODE_RESEND_COOLDOWN_SECONDS: '30', EMAIL_CODE_MAX_PER_HOUR: '2' }), channel, accountsOn(store));
    expect(await capped.sendEmailCode(subject)).toEqual({ sent: true });
    for (let click = 0; click < 3; click += 1) expect(await capped.sendEmailCode(subject)).toMatchObject({ sent: false, reason: 'cooldown' });
    // The code is gone (used, say): the cooldown no longer applies, and the second of the two codes may go.
    await capped.emailCodes.withdraw(subject.customerId);
    expect(await capped.sendEmailCode(subject)).toEqual({ sent: true });
    await capped.emailCodes.withdraw(subject.customerId);
    expect(await capped.sendEmailCode(subject)).toMatchObject({ sent: false, reason: 'hourly_cap' });
    expect(channel.sent).toHaveLength(2);
  });

  test('of two concurrent uses of one TOTP code, exactly one succeeds', async () => {
    const enrollment = await mfa.enrollTotp(subject, 'unit-test');
    expect(enrollment.uri).toMatch(/^otpauth:\/\/totp\//);
    // One clock for codes and checks: with the real clock read again at the check, a step change in between
    // left the confirming code (the previous step's) two steps old, and refused.
    const clock = { epoch: Math.floor(Date.now() / 1000) };
    expect(await mfa.confirmTotp(subject.customerId, await generate({ secret: enrollment.secret, epoch: clock.epoch - 30 }), 'unit-test', clock)).toBe(true);
    const code = await generate({ secret: enrollment.secret, epoch: clock.epoch });
    const results = await Promise.all([mfa.totp.verify(subject.customerId, code, clock), mfa.totp.verify(subject.customerId, code, clock)]);
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  test('the TOTP secret is stored encrypted', async () => {
    const enrollment = await mfa.enrollTotp(subject, 'unit-test');
    expect(JSON.stringify(await store.collection('mfa_factors').find({}))).not.toContain(enrollment.secret);
  });

  test('recovery codes: 10, each single-use, accepted with any case and dashes', async () => {
    const codes = await mfa.generateRecoveryCodes(subject.customerId);
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    const [first] = codes;
    expect(await mfa.verifySecondFactor(subject.customerId, { recoveryCode: String(first).toUpperCase().replace('-', '') })).toEqual({ ok: true, method: 'recovery_code' });
    expect(await mfa.verifySecondFactor(subject.customerId, { recoveryCode: String(first) })).toEqual({ ok: false });
    expect(await mfa.recoveryCodes.remaining(subject.customerId)).toBe(9);
  });

  test('the guarded check refuses a right code while the (account, IP) pair is backing off, and counts wrong ones', async () => {
    const account = { customerId: subject.customerId, email: subject.email, roles: [], status: 'active' as const, createdAt: new Date(), updatedAt: new Date() };
    const enrollment = await mfa.enrollTotp(subject, 'unit-test');
    // One clock for codes and checks (see the concurrent-use test): the previous step's code stays one step old.
    const clock = { epoch: Math.floor(Date.now() / 1000) };
    expect(await mfa.confirmTotp(subject.customerId, await generate({ secret: enrollment.secret, epoch: clock.epoch - 30 }), 'unit-test', clock)).toBe(true);
    // One free failure, then the second starts a one-minute backoff for this address only.
    for (let failure = 0; failure < 2; failure += 1) {
      expect(await mfa.verifySecondFactorGuarded(account, { otp: '000000', method: 'totp' }, '192.0.2.1', clock)).toMatchObject({ ok: false, reason: 'wrong_code' });
    }
    const code = await generate({ secret: enrollment.secret, epoch: clock.epoch });
    expect(await mfa.verifySecondFactorGuarded(account, { otp: code }, '192.0.2.1', clock)).toMatchObject({ ok: false, reason: 'throttled' });
    expect(await mfa.verifySecondFactorGuarded(account, { otp: code }, '192.0.2.2', clock)).toEqual({ ok: true, method: 'totp' });
  });
});

describe('EmailChannel without SMTP (development)', () => {
  test('writes the message as an .eml file under MAIL_DEV_DIRECTORY', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'authtoken-mail-'));
    const write = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      const channel = new EmailChannel({ smtpUrl: undefined, from: 'AuthToken <no-reply@localhost>', devDirectory: directory });
      await channel.deliver({ accountId: 'C-x', email: 'dev@example.com', subject: 'Your sign-in code', text: 'Your sign-in code is 123456\n', purpose: 'mfa-code' });
      channel.close();
      const [file] = await readdir(directory);
      expect(file).toMatch(/\.eml$/);
      const raw = await readFile(join(directory, String(file)), 'utf8');
      expect(raw).toContain('To: dev@example.com');
      expect(raw).toContain('Your sign-in code is 123456');
    } finally {
      write.mockRestore();
      await rm(directory, { recursive: true, force: true });
    }
  });
});

describe('EmailChannel.check (run once at start)', () => {
  const channelFor = (smtpUrl: string | undefined) => new EmailChannel({ smtpUrl, from: 'AuthToken <no-reply@localhost>', devDirectory: undefined });

  test('an unreachable mail server is named by SMTP_URL and its address, never by its credentials', async () => {
    const closedPort = await freePort();
    const channel = channelFor(`smtp://mailer:smtp-pa55word@127.0.0.1:${closedPort}`);
    try {
      const failure = channel.check();
      await expect(failure).rejects.toThrow(new RegExp(`^SMTP_URL: the mail server smtp://127\\.0\\.0\\.1:${closedPort} did not accept a connection: .+`));
      await expect(failure).rejects.not.toThrow(/pa55word/);
    } finally {
      channel.close();
    }
  });

  test('a reachable mail server passes, and so does development without SMTP_URL', async () => {
    const mailbox = new TestMailbox();
    await mailbox.start();
    const channel = channelFor(mailbox.url);
    try {
      await expect(channel.check()).resolves.toBeUndefined();
      expect(mailbox.messages).toHaveLength(0);
    } finally {
      channel.close();
      await mailbox.stop();
    }
    await expect(channelFor(undefined).check()).resolves.toBeUndefined();
  });
});

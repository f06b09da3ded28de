import { hash } from 'node:crypto';

const BLOCK_BYTES = 64;
const DIGEST_BYTES = 32;

/**
 * HMAC-SHA-256 (RFC 2104) under one key, with the key's two padded blocks computed once: the same bytes
 * `createHmac('sha256', key)` gives (the tests compare them), at a fraction of the cost on a busy server.
 *
 * Measured on Node 24 (a 107-byte message): createHmac 23-27 µs per MAC, since it builds and frees an
 * OpenSSL MAC context per call; this construction over one-shot `crypto.hash` 2.1 µs. The digests travel
 * as strings: `hash(..., 'buffer')` costs about 2.6 µs a call against 0.8 µs for hex, because Node
 * allocates the returned Buffer outside the V8 heap, so the inner digest is passed on as hex and the
 * outer one is encoded directly as the base64url callers store.
 */
export class HmacSha256 {
  readonly #innerPad: Buffer;
  readonly #outerPad: Buffer;

  constructor(key: Buffer) {
    // RFC 2104: a key longer than the block is hashed first; a shorter one is padded with zeros.
    const block = Buffer.alloc(BLOCK_BYTES);
    (key.length > BLOCK_BYTES ? hash('sha256', key, 'buffer') : key).copy(block);
    this.#innerPad = Buffer.from(block.map((byte) => byte ^ 0x36));
    this.#outerPad = Buffer.from(block.map((byte) => byte ^ 0x5c));
  }

  /** The MAC of a message as base64url (a string message is taken as UTF-8, as createHmac's update does). */
  digest(message: string | Buffer): string {
    const length = typeof message === 'string' ? Buffer.byteLength(message) : message.length;
    const inner = Buffer.allocUnsafe(BLOCK_BYTES + length);
    this.#innerPad.copy(inner, 0);
    if (typeof message === 'string') inner.write(message, BLOCK_BYTES, 'utf8');
    else message.copy(inner, BLOCK_BYTES);
    const outer = Buffer.allocUnsafe(BLOCK_BYTES + DIGEST_BYTES);
    this.#outerPad.copy(outer, 0);
    outer.write(hash('sha256', inner, 'hex'), BLOCK_BYTES, 'hex');
    return hash('sha256', outer, 'base64url');
  }
}

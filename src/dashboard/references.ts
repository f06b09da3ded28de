import type { ServerSecrets } from '../secrets/index.js';

/**
 * How a page names a stored record (a token, a session) in a form or URL without handing out anything usable.
 *
 * The records are stored under a keyed hash of their value, which nobody can turn back into a token; still,
 * the reference is not that hash but the hash sealed (AES-256-GCM, its own derived key) with the account and
 * the kind of record as associated data:
 * - a reference copied from another account's page, or made up, does not open at all, before any lookup (the
 *   lookup is still filtered by owner as well);
 * - pages, request logs and the audit trail never show a database key, so a leaked page or log cannot be
 *   matched with a database dump, and a reference changes on every rendering.
 */
export class RecordReferences {
  constructor(private readonly secrets: ServerSecrets) {}

  seal(kind: string, accountId: string, storedId: string): string {
    return this.secrets.encrypt('dashboard-reference', storedId, associatedData(kind, accountId));
  }

  /** The stored id a reference names, or undefined when it was not sealed for this account and kind. */
  open(kind: string, accountId: string, reference: string): string | undefined {
    // A sealed id is four base64url parts; anything longer is not one of ours (and is not worth decrypting).
    if (reference.length > 512) return undefined;
    try {
      return this.secrets.decrypt('dashboard-reference', reference, associatedData(kind, accountId)).toString();
    } catch {
      return undefined;
    }
  }
}

function associatedData(kind: string, accountId: string): string {
  return `${kind}\n${accountId}`;
}

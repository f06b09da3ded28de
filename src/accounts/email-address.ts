/** How an address is stored and looked up: an account's identity (case-insensitive, surrounding spaces dropped). */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** Providers known to ignore dots in the local part, whose two domain names are one mailbox. */
const DOTLESS_DOMAINS: Record<string, string> = { 'gmail.com': 'gmail.com', 'googlemail.com': 'gmail.com' };

/**
 * The mailbox an address most likely ends in, for counting mail to it (never for identity): lower case,
 * without a `+tag` (RFC 5233 subaddressing, which most providers deliver to the untagged mailbox), and for
 * Gmail without dots. So `Owner+1@x.com` and `owner+2@x.com` count against one budget.
 */
export function canonicalMailbox(email: string): string {
  const normalized = normalizeEmail(email);
  const at = normalized.lastIndexOf('@');
  if (at <= 0) return normalized;
  let local = normalized.slice(0, at);
  let domain = normalized.slice(at + 1);
  const plus = local.indexOf('+');
  if (plus > 0) local = local.slice(0, plus);
  const dotless = DOTLESS_DOMAINS[domain];
  if (dotless) {
    local = local.replaceAll('.', '');
    domain = dotless;
  }
  return `${local}@${domain}`;
}

import { dictionary } from '@zxcvbn-ts/language-common';

/** OWASP ASVS V2.1: length only (no composition rules), and not a known common or breached password. */
export const PASSWORD_MIN_LENGTH = 12;
export const PASSWORD_MAX_LENGTH = 128;

// zxcvbn-ts ships ~49k passwords ranked by frequency in public breach corpora; checked offline.
const commonPasswords = new Set(dictionary['passwords-common'].map((password) => password.toLowerCase()));

export type PasswordProblem = 'too_short' | 'too_long' | 'common';

/** Why a password is refused, or undefined when it is acceptable. Length counts code points. */
export function checkPasswordPolicy(password: string): PasswordProblem | undefined {
  const length = [...password].length;
  if (length < PASSWORD_MIN_LENGTH) return 'too_short';
  if (length > PASSWORD_MAX_LENGTH) return 'too_long';
  if (commonPasswords.has(password.toLowerCase())) return 'common';
  return undefined;
}

/** A sentence for people, for each problem. */
export function describePasswordProblem(problem: PasswordProblem): string {
  switch (problem) {
    case 'too_short':
      return `the password must be at least ${PASSWORD_MIN_LENGTH} characters long`;
    case 'too_long':
      return `the password must be at most ${PASSWORD_MAX_LENGTH} characters long`;
    case 'common':
      return 'this password appears in lists of common or breached passwords; choose another';
  }
}

export class PasswordPolicyError extends Error {
  override name = 'PasswordPolicyError';
  constructor(readonly problem: PasswordProblem) {
    super(describePasswordProblem(problem));
  }
}

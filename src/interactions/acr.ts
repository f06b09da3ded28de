/** Authentication context classes we issue (RFC 9470 style step-up names them in `acr_values`). */
export const ACR_PASSWORD = 'urn:authtoken:acr:pwd';
export const ACR_MFA = 'urn:authtoken:acr:mfa';
export const ACR_VALUES = [ACR_PASSWORD, ACR_MFA];

/** RFC 8176 authentication method references for each way a second factor can be proven. */
export type SecondFactorMethod = 'totp' | 'email' | 'recovery_code';

export function amrFor(method: SecondFactorMethod | undefined): string[] {
  // Every second factor we accept is a one-time code (authenticator, email, recovery), so RFC 8176's
  // `otp`; `mfa` says two factors were used. A recovery code has no RFC 8176 value of its own.
  return method ? ['pwd', 'otp', 'mfa'] : ['pwd'];
}

/** True when the request asks for the multi-factor context, in acr_values or an essential acr claim. */
export function requestsMfa(acrValues: unknown): boolean {
  return typeof acrValues === 'string' && acrValues.split(' ').includes(ACR_MFA);
}

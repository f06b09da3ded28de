import QRCode from 'qrcode';

/** What a person needs on screen to add a TOTP key to an authenticator app. */
export interface TotpEnrollmentDisplay {
  /**
   * The otpauth:// URI as an SVG QR code, rendered on the server (pages carry no script). Hidden from assistive
   * technology: the page's figure around it is the named image, and the manual key is its text alternative.
   */
  qrSvg: string;
  /** The base32 key in groups of four, for typing by hand. */
  manualKey: string;
  /**
   * The otpauth:// URI itself, for a link: on a phone the QR code cannot be scanned by the phone showing it, and
   * authenticator apps there open such a link. It holds nothing the page does not already show (the key).
   */
  otpauthUri: string;
}

/** The QR code and the grouped manual key, for every page that enrolls TOTP (login pages, dashboard). */
export async function totpEnrollmentDisplay(secret: string, otpauthUri: string): Promise<TotpEnrollmentDisplay> {
  return {
    qrSvg: (await QRCode.toString(otpauthUri, { type: 'svg', errorCorrectionLevel: 'M', margin: 1 })).replace(/^<svg /, '<svg aria-hidden="true" '),
    manualKey: secret.replace(/(.{4})/g, '$1 ').trim(),
    otpauthUri,
  };
}

export const RECOVERY_CODES_FILE_NAME = 'authtoken-recovery-codes.txt';

/** The text file behind "Download as a text file" on the pages that show recovery codes once. */
export function recoveryCodesFile(codes: string[]): string {
  return `AuthToken recovery codes. Each works once.\n\n${codes.join('\n')}\n`;
}

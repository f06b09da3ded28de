/**
 * For a test whose counts or codes must all fall in one window of a clock-aligned period (rate-limit windows,
 * email budgets, TOTP steps all start on multiples of their length since the epoch): when fewer than
 * `seconds` are left in the current window, waits for the next one to start.
 */
export async function windowWithSecondsLeft(windowSeconds: number, seconds: number): Promise<void> {
  const left = () => windowSeconds - ((Date.now() / 1000) % windowSeconds);
  if (left() < seconds) await new Promise((resolve) => setTimeout(resolve, left() * 1000 + 50));
}

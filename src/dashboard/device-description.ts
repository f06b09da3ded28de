import Bowser from 'bowser';

/**
 * A short human description of the device behind a user agent, e.g. "Chrome 140 on Linux (desktop)" or
 * "Safari 17 on iOS (iPhone)". User agents are a moving target, so the parsing is bowser's; what it does not
 * recognise (curl, a script) is shown as the raw user agent, shortened, rather than guessed at.
 */
export function describeDevice(userAgent: string): string {
  const trimmed = userAgent.trim();
  if (!trimmed) return 'Unknown device';
  const { browser, os, platform } = Bowser.parse(trimmed);
  const browserName = browser.name ? [browser.name, majorVersion(browser.version)].filter(Boolean).join(' ') : '';
  const osName = os.name ?? '';
  if (!browserName && !osName) return trimmed.length > 60 ? `${trimmed.slice(0, 59)}…` : trimmed;
  const where = platform.model ?? platform.type;
  return [browserName || 'Browser', osName ? `on ${osName}` : '', where ? `(${where})` : ''].filter(Boolean).join(' ');
}

function majorVersion(version: string | undefined): string {
  return version?.split('.')[0] ?? '';
}

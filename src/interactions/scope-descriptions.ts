/** Plain words for the consent page. Unknown scopes are shown by name. */
const DESCRIPTIONS: Record<string, string> = {
  openid: 'Know who you are (your customer ID)',
  profile: 'See your basic profile',
  email: 'See your email address',
  offline_access: 'Stay connected when you are not using it (refresh tokens)',
  'api:read': 'Read your data through the API',
  'api:write': 'Create and change your data through the API',
};

export function describeScope(scope: string): string {
  return DESCRIPTIONS[scope] ?? `Use the “${scope}” permission`;
}

/**
 * A test for "this path is one of these prefixes, or under one of them": `/dashboard` and `/dashboard/x`,
 * never `/dashboards`. Each prefix's slash form is built once, since middlewares ask on every request (a
 * template string per prefix per request showed in allocation profiles of the token endpoint).
 */
export function underPathPrefixes(prefixes: readonly string[]): (path: string) => boolean {
  const nested = prefixes.map((prefix) => `${prefix}/`);
  return (path) => {
    for (let index = 0; index < prefixes.length; index += 1) {
      if (path === prefixes[index] || path.startsWith(nested[index] as string)) return true;
    }
    return false;
  };
}

/**
 * Waits (bounded: 100 polls 50 ms apart) for work the server does after it has answered, such as records
 * written or deleted behind the response; throws naming what never happened.
 */
export async function waitFor(condition: () => Promise<boolean> | boolean, what: string): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt += 1) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

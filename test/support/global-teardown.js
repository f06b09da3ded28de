export default async function globalTeardown() {
  await globalThis.__AUTHTOKEN_FERRETDB__?.stop();
}

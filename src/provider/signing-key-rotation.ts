import type { Config } from '../config/index.js';
import type { ServerSecrets } from '../secrets/index.js';
import type { Store } from '../store/index.js';
import type { LiveProvider } from './live-provider.js';
import {
  importSigningKeys,
  listSigningKeys,
  rotateSigningKey,
  type RotationTiming,
  type SigningAlgorithm,
  type SigningKeyInfo,
} from './signing-keys.js';

/** Allowance for clocks of resource servers running ahead of ours when they check `exp`. */
const CLOCK_SKEW_SECONDS = 60;

/** The longest a token signed by one of our keys (access token JWT or ID token) can stay valid. */
export function longestSignedTokenLifetime(config: Config): number {
  const perApi = config.resourceServers.flatMap((server) => server.accessTokenTtl ?? []);
  return Math.max(config.ttl.idToken, config.ttl.accessToken, config.ttl.clientCredentials, ...perApi) + CLOCK_SKEW_SECONDS;
}

/** When a new key may sign, and how long a replaced one stays published. */
export function rotationTiming(config: Config): RotationTiming {
  return {
    publishDelaySeconds: config.signingKeys.publishDelaySeconds,
    // An instance may go on signing with the old key for up to one poll interval after the activation.
    longestTokenLifetimeSeconds: longestSignedTokenLifetime(config) + config.signingKeys.pollIntervalSeconds,
  };
}

/** Brings the operator's SIGNING_KEYS into the store (once each; a new one is a rotation). */
export async function importConfiguredSigningKeys(store: Store, secrets: ServerSecrets, config: Config): Promise<void> {
  if (config.configuredSigningKeys.length === 0) return;
  await importSigningKeys(store, secrets, config.configuredSigningKeys as Parameters<typeof importSigningKeys>[2], rotationTiming(config));
}

/** Key rotation and listing for the admin API, applied on this instance at once (others within a poll). */
export class SigningKeyRotation {
  constructor(
    private readonly store: Store,
    private readonly secrets: ServerSecrets,
    private readonly live: LiveProvider,
    private readonly config: Config,
  ) {}

  /** Publishes a new key for `alg` now; it signs after the publish delay, and the old one retires then. */
  async rotateSigningKeys(alg: SigningAlgorithm): Promise<SigningKeyInfo> {
    const created = await rotateSigningKey(this.store, this.secrets, alg, rotationTiming(this.config));
    await this.live.refresh();
    return created;
  }

  async listSigningKeys(): Promise<SigningKeyInfo[]> {
    return listSigningKeys(this.store);
  }
}

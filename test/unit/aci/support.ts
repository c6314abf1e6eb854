/**
 * Shared pieces for the ACI tests: a pod builder, a token credential that needs no Azure, and a
 * provider (or bare SDK client) wired to a running fake ARM server. Retries sleep on a virtual
 * clock, so tests never wait for a backoff.
 */
import { ContainerInstanceManagementClient } from '@azure/arm-containerinstance';
import type { TokenCredential } from '@azure/identity';
import type { AciConfig } from '../../../core/config.ts';
import { memoryLogger } from '../../../core/log.ts';
import type { LogsProvider, Provider, StatsProvider } from '../../../core/providers/provider.ts';
import type { PublicIpPolicy } from '../../../core/providers/aci/mapping.ts';
import { createAciProvider } from '../../../core/providers/aci/provider.ts';
import type { ResolvedContainer, ResolvedPod } from '../../../core/providers/types.ts';
import type { FakeAci } from '../../fakes/aci/server.ts';
import { resolvedContainer, resolvedPod } from '../../support/resolvedPod.ts';

export const testCredential: TokenCredential = {
  getToken: () => Promise.resolve({ token: 'test-token', expiresOnTimestamp: Date.now() + 3_600_000 }),
};

export const clusterName = 'test-cluster';

export function aciConfig(fake?: FakeAci, overrides: Partial<AciConfig> = {}): AciConfig {
  return {
    subscriptionId: '00000000-0000-0000-0000-000000000001',
    resourceGroup: 'funclet-rg',
    region: 'westeurope',
    ...(fake === undefined ? {} : { armEndpoint: fake.url }),
    ...overrides,
  };
}

export interface TestProvider {
  provider: Provider & LogsProvider & StatsProvider;
  /** Every wait the retry loop asked for, in ms. */
  sleeps: number[];
  lines: Record<string, unknown>[];
}

export function providerFor(
  fake: FakeAci,
  options: {
    budgetMs?: number;
    config?: Partial<AciConfig>;
    publicIp?: PublicIpPolicy;
    now?: () => number;
  } = {},
): TestProvider {
  const sleeps: number[] = [];
  let clock = 0;
  const { logger, lines } = memoryLogger();
  const provider = createAciProvider(aciConfig(fake, options.config), {
    clusterName,
    logger,
    credential: testCredential,
    trustedCaPem: fake.caPem,
    publicIp: () => options.publicIp ?? 'none',
    ...(options.now === undefined ? {} : { now: options.now }),
    retry: {
      budgetMs: options.budgetMs ?? 20_000,
      now: () => clock,
      sleep: (ms) => {
        sleeps.push(ms);
        clock += ms;
        return Promise.resolve();
      },
      random: () => 0.5,
    },
  });
  return { provider, sleeps, lines };
}

/** The real SDK client pointed at the fake, with the SDK's own retries off. */
export function sdkClient(fake: FakeAci): ContainerInstanceManagementClient {
  return new ContainerInstanceManagementClient(testCredential, aciConfig().subscriptionId, {
    endpoint: fake.url,
    $host: fake.url,
    retryOptions: { maxRetries: 0 },
    tlsOptions: { ca: fake.caPem },
  });
}

export function container(overrides: Partial<ResolvedContainer> = {}): ResolvedContainer {
  return resolvedContainer({
    image: 'nginx:1.27',
    requests: { cpu: 0.5, memoryBytes: 512 * 1024 * 1024 },
    ...overrides,
  });
}

let podCounter = 0;

export function pod(overrides: Partial<ResolvedPod> = {}): ResolvedPod {
  podCounter++;
  return resolvedPod({
    name: `web-${podCounter}`,
    uid: `00000000-0000-4000-8000-${String(podCounter).padStart(12, '0')}`,
    node: 'virtual-aci',
    containers: [container()],
    ...overrides,
  });
}

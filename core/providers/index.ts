import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import type { Tables } from '../state/tables.ts';
import type { Provider } from './provider.ts';
import {
  enforcedSecurity,
  refuseInsecurePod,
  type SecuritySetting,
  type UnenforcedSecurity,
} from './security.ts';
import type { ProviderName, ResolvedPod } from './types.ts';
import type { AciProviderDeps } from './aci/provider.ts';
import type { EcsProviderDeps } from './ecs/provider.ts';

export interface ProviderDeps {
  config: Config;
  tables: Tables;
  logger: Logger;
  now: () => number;
  /**
   * Credentials and trust for the provider clients. In Azure and AWS these come from the
   * standard chains (managed identity, the AWS SDK chain); tests and the local run pass their own.
   */
  overrides?: ProviderOverrides;
}

export interface ProviderOverrides {
  aci?: Pick<AciProviderDeps, 'credential' | 'trustedCaPem'>;
  ecs?: Pick<EcsProviderDeps, 'credentials'>;
}

/**
 * Builds the named provider. Each provider's module (and its cloud SDK) is imported only
 * when a node uses it, so an ECS-only app never loads the Azure SDK and the other way round.
 */
export async function createProvider(name: ProviderName, deps: ProviderDeps): Promise<Provider> {
  const provider = await createBareProvider(name, deps);
  const policy = new Map(deps.config.nodes.map((n) => [n.name, n]));
  return refusingInsecurePods(
    provider,
    enforcedSecurity[name],
    (node) => policy.get(node)?.unenforcedSecurity ?? 'refuse',
  );
}

const providerTitle: Record<ProviderName, string> = {
  mock: 'the mock provider',
  aci: 'ACI',
  ecs: 'ECS on Fargate',
};

/**
 * The provider, with every createPod checked against security.ts first: a pod asking for a host
 * or for settings the provider cannot enforce is refused before the provider sees it. Whatever
 * else the provider offers (logs, stats) is reached through the prototype.
 */
function refusingInsecurePods(
  provider: Provider,
  enforced: ReadonlySet<SecuritySetting>,
  unenforced: (node: string) => UnenforcedSecurity,
): Provider {
  const checked = Object.create(provider) as Provider;
  const createPod = provider.createPod.bind(provider);
  // Writable and configurable, as a method is: a proxy over the provider (tracing, call counting)
  // may only answer its own function for a property that is neither.
  Object.defineProperty(checked, 'createPod', {
    value: async (pod: ResolvedPod) => {
      refuseInsecurePod(pod, providerTitle[provider.name], enforced, unenforced(pod.node));
      return await createPod(pod);
    },
    writable: true,
    configurable: true,
  });
  return checked;
}

async function createBareProvider(name: ProviderName, deps: ProviderDeps): Promise<Provider> {
  const logger = deps.logger.child({ provider: name });
  switch (name) {
    case 'mock': {
      const { MockProvider } = await import('./mock/provider.ts');
      return new MockProvider({
        table: await deps.tables.table('mockInstances'),
        startDelayMs: deps.config.mock.startDelayMs,
        execUrl: deps.config.mock.execUrl,
        now: deps.now,
      });
    }
    case 'aci': {
      const { createAciProvider } = await import('./aci/provider.ts');
      if (!deps.config.aci) throw new Error('aci provider requested without ACI settings');
      const nodes = new Map(deps.config.nodes.map((n) => [n.name, n]));
      return createAciProvider(deps.config.aci, {
        clusterName: deps.config.clusterName,
        logger,
        publicIp: (node) => nodes.get(node)?.publicIp ?? 'none',
        ...deps.overrides?.aci,
      });
    }
    case 'ecs': {
      const { createEcsProvider } = await import('./ecs/provider.ts');
      if (!deps.config.ecs) throw new Error('ecs provider requested without ECS settings');
      return createEcsProvider(deps.config.ecs, {
        clusterName: deps.config.clusterName,
        logger,
        ...deps.overrides?.ecs,
      });
    }
  }
}

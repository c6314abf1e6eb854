/**
 * The composition root: settings -> Kubernetes clients -> tables -> providers. Built lazily on
 * the first invocation of an instance and reused by later ones as a cache of connections only;
 * nothing here holds state that correctness depends on.
 */
import { loadConfig, type Config, type VirtualNodeConfig } from '../core/config.ts';
import { kubeClients, type KubeClients, type KubeRequestObserver } from '../core/kube/clients.ts';
import { kubeConfigFromText } from '../core/kube/kubeconfig.ts';
import { createLogger, type Logger, type LogSink } from '../core/log.ts';
import { createProvider, type ProviderOverrides } from '../core/providers/index.ts';
import type { Provider } from '../core/providers/provider.ts';
import type { ProviderName } from '../core/providers/types.ts';
import { Tables, type TableRequestObserver } from '../core/state/tables.ts';
import { NodeRecords } from '../core/state/nodeRecords.ts';
import { PodRecords } from '../core/state/podRecords.ts';
import type { PodDeps } from '../core/pods/reconcile.ts';
import { kubeResolverApi, perPass } from '../core/pods/resolve/index.ts';
import type { NodeDeps } from '../core/node/heartbeat.ts';
import { forEachNode, type NodeOutcome } from '../core/node/forEachNode.ts';
import type { InvocationContext, Timer } from './azure.ts';

export interface Runtime {
  readonly config: Config;
  readonly kube: KubeClients;
  readonly tables: Tables;
  readonly now: () => number;
  provider(name: ProviderName, logger: Logger): Promise<Provider>;
}

export interface RuntimeOptions {
  env?: Readonly<Record<string, string | undefined>>;
  now?: () => number;
  /** Request counters for benchmarks. */
  observe?: { kube?: KubeRequestObserver; tables?: TableRequestObserver };
  /** Provider credentials for tests and the local run; the cloud's own chains otherwise. */
  providers?: ProviderOverrides;
}

/** Validates settings and builds the clients; throws ConfigError naming each bad setting. */
export function createRuntime(options: RuntimeOptions = {}): Runtime {
  const config = loadConfig(options.env ?? process.env);
  const kube = kubeClients(kubeConfigFromText(config.kubeconfig), options.observe?.kube);
  const tables = new Tables(config.tables, options.observe?.tables);
  const now = options.now ?? Date.now;
  const providers = new Map<ProviderName, Promise<Provider>>();
  return {
    config,
    kube,
    tables,
    now,
    provider(name, logger) {
      let provider = providers.get(name);
      if (!provider) {
        provider = createProvider(name, { config, tables, logger, now, overrides: options.providers });
        providers.set(name, provider);
        provider.catch(() => providers.delete(name));
      }
      return provider;
    },
  };
}

let instance: Runtime | undefined;

/** This instance's runtime, built on first use (never at import time). */
export function sharedRuntime(): Runtime {
  instance ??= createRuntime();
  return instance;
}

/** A JSON logger whose lines go to the invocation's log, tagged with the invocation id. */
export function invocationLogger(context: InvocationContext): Logger {
  const sink: LogSink = (level, line) => {
    if (level === 'error') context.error(line);
    else if (level === 'warn') context.warn(line);
    else if (level === 'debug') context.debug(line);
    else context.info(line);
  };
  return createLogger(
    { invocationId: context.invocationId, functionName: context.functionName },
    { sink, minLevel: 'info' },
  );
}

export type RuntimeSource = () => Runtime;

/**
 * Builds the runtime for one invocation and logs a settings failure before rethrowing it, so
 * the function fails with the setting's name in its log and touches nothing.
 */
export function runtimeFor(source: RuntimeSource, logger: Logger): Runtime {
  try {
    return source();
  } catch (err) {
    logger.error('Funclet cannot start: invalid settings', { error: err });
    throw err;
  }
}

/** What the node heartbeat needs for one node. */
export async function nodeDeps(runtime: Runtime, node: VirtualNodeConfig, logger: Logger): Promise<NodeDeps> {
  return {
    kube: runtime.kube,
    provider: await runtime.provider(node.provider, logger),
    records: new NodeRecords(await runtime.tables.table('nodes')),
    now: runtime.now,
    logger,
  };
}

/** What reconciling one node's pods needs. */
export async function podDeps(runtime: Runtime, node: VirtualNodeConfig, logger: Logger): Promise<PodDeps> {
  return {
    kube: runtime.kube,
    provider: await runtime.provider(node.provider, logger),
    records: new PodRecords(await runtime.tables.table('pods')),
    // One pass (a resync, a batch of pokes) reads each ConfigMap, Secret and Service list once.
    resolver: perPass(kubeResolverApi(runtime.kube)),
    node: node.name,
    now: runtime.now,
    logger,
    backoffBaseMs: runtime.config.restartBackoffMs,
  };
}

/**
 * A timer handler that runs `work` for every configured node at once. One node's failure is
 * logged and does not stop the others; the invocation fails afterwards, naming the nodes.
 */
export function perNodeTimer(
  what: string,
  source: RuntimeSource,
  work: (runtime: Runtime, node: VirtualNodeConfig, log: Logger) => Promise<unknown>,
) {
  return async (_timer: Timer, context: InvocationContext): Promise<void> => {
    const logger = invocationLogger(context);
    const runtime = runtimeFor(source, logger);
    const outcomes = await forEachNode(runtime.config.nodes, logger, (node, log) => work(runtime, node, log));
    throwIfAnyFailed(what, outcomes);
  };
}

/** Fails the invocation, after every node has had its turn, when any node failed. */
function throwIfAnyFailed(what: string, outcomes: readonly NodeOutcome<unknown>[]): void {
  const failed = outcomes.filter((o) => !o.ok);
  if (failed.length > 0) {
    throw new Error(
      `${what} failed for ${failed.length} of ${outcomes.length} nodes: ${failed.map((f) => `${f.node} (${f.error})`).join('; ')}`,
    );
  }
}

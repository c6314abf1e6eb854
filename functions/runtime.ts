/**
 * The composition root: settings -> Kubernetes clients -> tables -> providers. Built lazily on
 * the first invocation of an instance and reused by later ones as a cache of connections only;
 * nothing here holds state that correctness depends on.
 *
 * Each virtual node talks to the API server with its own credential (kubeFor): the context named
 * after it in FUNCLET_KUBECONFIG, a `system:node:<name>` client certificate, so the Node
 * authorizer and NodeRestriction confine it as they confine a kubelet. A kubeconfig holding a
 * single ServiceAccount token (the weaker fallback) serves every node.
 */
import { loadConfig, Setting, type Config, type VirtualNodeConfig } from '../core/config.ts';
import { kubeClients, type KubeClients, type KubeRequestObserver } from '../core/kube/clients.ts';
import { kubeConfigsByNode } from '../core/kube/kubeconfig.ts';
import { keyVaultKubeconfigStore, type KubeconfigStore } from '../core/kube/kubeconfigStore.ts';
import { createLogger, type Logger, type LogSink } from '../core/log.ts';
import { createProvider, type ProviderOverrides } from '../core/providers/index.ts';
import type { Provider } from '../core/providers/provider.ts';
import type { ProviderName } from '../core/providers/types.ts';
import { tracedProvider } from '../core/telemetry/tracedProvider.ts';
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
  /** The API server clients of one configured node, with that node's own credential. */
  kubeFor(node: string): KubeClients;
  /** Where FUNCLET_KUBECONFIG is kept, for renewed certificates; none when it is not known. */
  readonly kubeconfigStore: KubeconfigStore | undefined;
  /** The kubeconfig in use now: FUNCLET_KUBECONFIG, or what useKubeconfig last gave. */
  kubeconfig(): string;
  /** From now on, talks to the API server with this kubeconfig (renewed certificates). */
  useKubeconfig(text: string): void;
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
  /** Where the kubeconfig is kept; from FUNCLET_KUBECONFIG_SECRET_URI (Key Vault) otherwise. */
  kubeconfigStore?: KubeconfigStore;
}

/** Validates settings and builds the clients; throws ConfigError naming each bad setting. */
export function createRuntime(options: RuntimeOptions = {}): Runtime {
  const config = loadConfig(options.env ?? process.env);
  const nodeNames = config.nodes.map((n) => n.name);
  const clientsFor = (text: string): Map<string, KubeClients> => {
    // Nodes that share one KubeConfig (the ServiceAccount fallback) share its clients.
    const shared = new Map<unknown, KubeClients>();
    const byNode = new Map<string, KubeClients>();
    for (const [node, kc] of kubeConfigsByNode(text, nodeNames)) {
      let clients = shared.get(kc);
      if (!clients) shared.set(kc, (clients = kubeClients(kc, options.observe?.kube)));
      byNode.set(node, clients);
    }
    return byNode;
  };
  let kubeconfig = config.kubeconfig;
  let kube = clientsFor(kubeconfig);
  const kubeconfigStore =
    options.kubeconfigStore ??
    (config.kubeconfigSecretUri === undefined
      ? undefined
      : keyVaultKubeconfigStore(config.kubeconfigSecretUri));
  const tables = new Tables(config.tables, options.observe?.tables);
  const now = options.now ?? Date.now;
  const providers = new Map<ProviderName, Promise<Provider>>();
  return {
    config,
    kubeFor(node) {
      const clients = kube.get(node);
      if (!clients) throw new Error(`node ${node} is not one of ${Setting.nodes}`);
      return clients;
    },
    kubeconfigStore,
    kubeconfig: () => kubeconfig,
    useKubeconfig(text) {
      kube = clientsFor(text);
      kubeconfig = text;
    },
    tables,
    now,
    provider(name, logger) {
      let provider = providers.get(name);
      if (!provider) {
        provider = createProvider(name, { config, tables, logger, now, overrides: options.providers }).then(
          tracedProvider,
        );
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
    kube: runtime.kubeFor(node.name),
    provider: await runtime.provider(node.provider, logger),
    records: new NodeRecords(await runtime.tables.table('nodes')),
    now: runtime.now,
    logger,
  };
}

/** What reconciling one node's pods needs. */
export async function podDeps(runtime: Runtime, node: VirtualNodeConfig, logger: Logger): Promise<PodDeps> {
  const kube = runtime.kubeFor(node.name);
  return {
    kube,
    provider: await runtime.provider(node.provider, logger),
    records: new PodRecords(await runtime.tables.table('pods')),
    // One pass (a resync, a batch of pokes) reads each ConfigMap, Secret and Service list once.
    resolver: perPass(kubeResolverApi(kube)),
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

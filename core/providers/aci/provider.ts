/**
 * The ACI provider: each pod is one container group in the configured resource group, named
 * deterministically from the pod (names.ts) and tagged with its pod, node and cluster (tags.ts).
 *
 * - createPod reads the group first and adopts it when it carries the pod's UID, so any number of
 *   calls for one pod make one group; it starts the PUT and returns without waiting for ACI to
 *   provision. A pod ACI cannot run is refused (InvalidInputError) before any call to Azure.
 * - deletePod starts the delete and returns; a group already gone is success. ACI gives the
 *   containers no SIGTERM and no grace period (gracePeriodLimit), so the stop options are unused.
 * - getPod and listPods read groups with their instance view (status.ts). The list API leaves the
 *   instance view out, so listPods reads each of the node's groups, a few at a time.
 * - capacity is what the subscription's ACI quota in the region has free, plus what this node's
 *   own groups already hold (the scheduler subtracts those itself), with defaults when ACI does
 *   not say.
 * - containerLogs reads ACI's logs API (logs.ts); podStats reads the group's Azure Monitor
 *   metrics (metrics.ts); execSession starts a terminal session with executeCommand (exec.ts).
 * Transient ARM failures are retried inside a time budget (retry.ts); all failures are classified
 * (errors.ts). Group specs are never logged: they hold secret values.
 */
import type { ContainerGroup, ContainerInstanceManagementClient } from '@azure/arm-containerinstance';
import type { MonitorClient } from '@azure/arm-monitor';
import type { TokenCredential } from '@azure/identity';
import { Setting, type AciConfig } from '../../config.ts';
import { ConfigError, ConflictError, errorMessage, ThrottledError } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import type { ExecProvider, LogsProvider, Provider, StatsProvider } from '../provider.ts';
import type {
  LogChunk,
  LogRequest,
  NodeCapacity,
  PodStats,
  ProviderPodView,
  ProviderRef,
  ResolvedPod,
} from '../types.ts';
import { createAciClient } from './client.ts';
import { isArmNotFound } from './errors.ts';
import { aciExecSession } from './exec.ts';
import { readAciLogChunk } from './logs.ts';
import {
  createMonitorClient,
  metricsQueries,
  podStatsFromMetrics,
  runningContainers,
  type MetricsQuery,
} from './metrics.ts';
import { containerGroupFromPod, type PublicIpPolicy } from './mapping.ts';
import { containerGroupName } from './names.ts';
import { defaultRetryOptions, withArmRetry, type RetryOptions } from './retry.ts';
import { podViewFromContainerGroup } from './status.ts';
import { ownedBy, taggedPod } from './tags.ts';

export interface AciProviderDeps {
  clusterName: string;
  logger: Logger;
  /** Defaults to DefaultAzureCredential (managed identity in Azure), loaded on first use. */
  credential?: TokenCredential;
  /** An extra CA (PEM) for the ARM endpoint's certificate: the test fake's throwaway one. */
  trustedCaPem?: string;
  /** Overrides of the retry budget and timing; tests inject sleep and clock. */
  retry?: Partial<RetryOptions>;
  /** Which of a node's pods get a public IP (its FUNCLET_NODES publicIp); none when absent. */
  publicIp?: (node: string) => PublicIpPolicy;
  /** How many container groups listPods and podStats read at once (default 8). */
  readConcurrency?: number;
  /** The clock podStats reads figures against; tests set it to the fake's. */
  now?: () => number;
}

/** Reported when ACI does not say: ACI has no memory or storage quota, and quotas can be unset. */
export const defaultAciCapacity: NodeCapacity = {
  cpu: '10000',
  memory: '4Ti',
  pods: '5000',
  ephemeralStorage: '40Ti',
};

type Client = ContainerInstanceManagementClient;

export function createAciProvider(
  config: AciConfig,
  deps: AciProviderDeps,
): Provider & LogsProvider & StatsProvider & ExecProvider {
  checkSettings(config, deps);
  const rg = config.resourceGroup;
  const { clusterName } = deps;
  const log = deps.logger.child({ provider: 'aci' });
  const retry: RetryOptions = { ...defaultRetryOptions, ...deps.retry };
  const readConcurrency = Math.max(1, deps.readConcurrency ?? 8);

  let clientPromise: Promise<Client> | undefined;
  const client = (): Promise<Client> =>
    (clientPromise ??= createAciClient(config, deps).catch((err: unknown) => {
      clientPromise = undefined;
      throw err;
    }));
  const call = <T>(action: string, fn: (c: Client) => Promise<T>): Promise<T> =>
    withArmRetry(action, async () => fn(await client()), retry, log);

  // Azure Monitor's client, for podStats only: its SDK loads on the first call.
  let monitorPromise: Promise<MonitorClient> | undefined;
  const monitor =
    (action: string) =>
    <T>(fn: (m: MonitorClient) => Promise<T>): Promise<T> =>
      withArmRetry(
        action,
        async () =>
          fn(
            await (monitorPromise ??= createMonitorClient(config, deps).catch((err: unknown) => {
              monitorPromise = undefined;
              throw err;
            })),
          ),
        retry,
        log,
      );
  const now = deps.now ?? Date.now;

  const readGroup = async (c: Client, name: string): Promise<ContainerGroup | undefined> => {
    try {
      return await c.containerGroups.get(rg, name);
    } catch (err) {
      if (isArmNotFound(err)) return undefined;
      throw err;
    }
  };

  /** Node's groups from the (instance-view-less) list, all pages. */
  const listOwned = (node: string): Promise<ContainerGroup[]> =>
    call(`listing container groups of node ${node} in ${rg}`, async (c) => {
      const owned: ContainerGroup[] = [];
      for await (const group of c.containerGroups.listByResourceGroup(rg)) {
        if (ownedBy(group.tags, node, clusterName)) owned.push(group);
      }
      return owned;
    });

  const listUsage = (): Promise<Map<string, number>> =>
    call(`reading ACI usage in ${config.region}`, async (c) => {
      const free = new Map<string, number>();
      for await (const usage of c.location.listUsage(config.region)) {
        const name = usage.name?.value;
        if (name !== undefined && usage.limit !== undefined && usage.limit >= 0) {
          free.set(name, Math.max(0, usage.limit - (usage.currentValue ?? 0)));
        }
      }
      return free;
    });

  return {
    name: 'aci',
    // Azure Monitor's container group metrics come at a one-minute grain.
    statsGrainMs: 60_000,
    // Neither deleting nor stopping a group sends SIGTERM first, and ACI takes no grace period
    // (docs/pod-stop-and-update.md gives the sources): the group is deleted at once.
    gracePeriodLimit: {
      seconds: 0,
      why: "ACI stops a container group's containers without SIGTERM or a grace period: they were killed at once",
    },

    async createPod(pod: ResolvedPod): Promise<ProviderRef> {
      const name = containerGroupName(pod);
      const group = containerGroupFromPod(pod, { config, clusterName, publicIp: deps.publicIp?.(pod.node) });
      const ref: ProviderRef = { provider: 'aci', id: name, podUid: pod.uid };
      const adopt = (existing: ContainerGroup): ProviderRef => {
        const owner = taggedPod(existing.tags);
        if (owner?.uid !== pod.uid || owner.attempt !== pod.attempt) {
          throw new ConflictError(
            `Container group ${name} already exists for another pod (UID ${owner?.uid ?? 'untagged'}); it must be deleted before this pod can run.`,
          );
        }
        return ref;
      };
      return call(`creating container group ${name} for pod ${pod.namespace}/${pod.name}`, async (c) => {
        const existing = await readGroup(c, name);
        if (existing !== undefined) return adopt(existing);
        try {
          await c.containerGroups.beginCreateOrUpdate(rg, name, group);
        } catch (err) {
          // The PUT may have been accepted although this call failed (its connection, or the
          // first status poll the SDK makes): if the group exists now, it is ours.
          const after = await readGroup(c, name).catch(() => undefined);
          if (after === undefined) throw err;
          return adopt(after);
        }
        log
          .child({ podNamespace: pod.namespace, podName: pod.name, podUid: pod.uid })
          .info('container group creation started', { containerGroup: name, attempt: pod.attempt });
        return ref;
      });
    },

    async deletePod(ref: ProviderRef): Promise<void> {
      await call(`deleting container group ${ref.id}`, async (c) => {
        try {
          await c.containerGroups.beginDelete(rg, ref.id);
        } catch (err) {
          if (!isArmNotFound(err)) throw err;
        }
      });
      log.info('container group deletion started', { containerGroup: ref.id, podUid: ref.podUid });
    },

    async getPod(ref: ProviderRef): Promise<ProviderPodView | undefined> {
      const group = await call(`reading container group ${ref.id}`, (c) => readGroup(c, ref.id));
      const view = group === undefined ? undefined : podViewFromContainerGroup(group);
      return view?.ref.podUid === ref.podUid ? view : undefined;
    },

    async listPods(node: string): Promise<ProviderPodView[]> {
      const names = (await listOwned(node)).flatMap((g) => (g.name === undefined ? [] : [g.name]));
      const groups = await mapBounded(names, readConcurrency, (name) =>
        call(`reading container group ${name}`, (c) => readGroup(c, name)),
      );
      // A group deleted between the list and its read is gone: leaving it out is the truth.
      return groups.flatMap((g) => {
        const view = g === undefined ? undefined : podViewFromContainerGroup(g);
        return view === undefined ? [] : [view];
      });
    },

    async capacity(node: string): Promise<NodeCapacity> {
      try {
        const [free, owned] = await Promise.all([listUsage(), listOwned(node)]);
        const ownCores = owned.reduce(
          (sum, g) => sum + g.containers.reduce((s, c) => s + (c.resources.requests.cpu || 0), 0),
          0,
        );
        const cores = free.get('StandardCores');
        const groups = free.get('ContainerGroups');
        return {
          ...defaultAciCapacity,
          ...(cores === undefined ? {} : { cpu: cpuQuantity(cores + ownCores) }),
          ...(groups === undefined ? {} : { pods: String(Math.floor(groups + owned.length)) }),
        };
      } catch (err) {
        log.warn('ACI capacity unknown; reporting defaults', { node, error: err });
        return { ...defaultAciCapacity };
      }
    },

    async health() {
      try {
        await listUsage();
        return { ok: true };
      } catch (err) {
        // Throttling says nothing about ACI's health; the caller keeps the node's last condition.
        if (err instanceof ThrottledError) throw err;
        return { ok: false, message: `ACI in ${config.region} cannot be reached: ${errorMessage(err)}` };
      }
    },

    async containerLogs(ref: ProviderRef, container: string, request: LogRequest): Promise<LogChunk> {
      const action = `reading logs of container ${container} in container group ${ref.id}`;
      return readAciLogChunk(async (tail) => {
        const result = await call(action, (c) =>
          c.containers.listLogs(rg, ref.id, container, {
            timestamps: true,
            ...(tail === undefined ? {} : { tail }),
          }),
        );
        return result.content ?? '';
      }, request);
    },

    execSession(ref, container, command, options) {
      return aciExecSession(call, rg, ref, container, command, options);
    },

    async podStats(refs: readonly ProviderRef[]): Promise<PodStats[]> {
      const stats = await mapBounded(refs, readConcurrency, async (ref) => {
        const group = await call(`reading container group ${ref.id}`, (c) => readGroup(c, ref.id));
        const view = group === undefined ? undefined : podViewFromContainerGroup(group);
        if (group?.id === undefined || view?.ref.podUid !== ref.podUid) return undefined;
        const starts = runningContainers(view);
        const nowMs = now();
        const queries = metricsQueries(starts, nowMs);
        if (queries.minutely === undefined) return undefined;
        const read = (query: MetricsQuery) =>
          monitor(`reading Azure Monitor metrics of container group ${ref.id}`)((m) =>
            m.metrics.list(group.id!.replace(/^\/+/, ''), query),
          );
        const [hourly, minutely] = await Promise.all([
          queries.hourly === undefined ? undefined : read(queries.hourly),
          read(queries.minutely),
        ]);
        return podStatsFromMetrics(
          ref,
          starts,
          { ...(hourly === undefined ? {} : { hourly }), minutely },
          nowMs,
        );
      });
      return stats.filter((s): s is PodStats => s !== undefined);
    },
  };
}

function checkSettings(config: AciConfig, deps: AciProviderDeps): void {
  const problems: { setting: string; problem: string }[] = [];
  if (config.subscriptionId.trim() === '')
    problems.push({ setting: Setting.aciSubscriptionId, problem: 'is required' });
  if (config.resourceGroup.trim() === '')
    problems.push({ setting: Setting.aciResourceGroup, problem: 'is required' });
  if (config.region.trim() === '') problems.push({ setting: Setting.aciRegion, problem: 'is required' });
  if (deps.clusterName.trim() === '') problems.push({ setting: Setting.clusterName, problem: 'is required' });
  if (problems.length > 0) throw new ConfigError(problems);
}

/** Whole cores as a plain number, fractions in millicores. */
function cpuQuantity(cores: number): string {
  return Number.isInteger(cores) ? String(cores) : `${Math.floor(cores * 1000)}m`;
}

/** fn over items, at most `limit` at a time; results in the items' order. */
async function mapBounded<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  const queue = items.map((item, index) => ({ item, index }));
  const worker = async (): Promise<void> => {
    for (let next = queue.shift(); next !== undefined; next = queue.shift())
      results[next.index] = await fn(next.item);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

import type { TableClient } from '@azure/data-tables';
import { Setting } from '../../config.ts';
import { InvalidInputError } from '../../errors.ts';
import { isTableStatus } from '../../state/tables.ts';
import { NotFoundError } from '../../errors.ts';
import type {
  ExecProvider,
  ExecSession,
  ExecSessionOptions,
  LogsProvider,
  PodAddressProvider,
  Provider,
  StatsProvider,
} from '../provider.ts';
import type {
  CreatedInstance,
  LogChunk,
  LogRequest,
  NodeCapacity,
  PodStats,
  ProviderHealth,
  ProviderPodView,
  ProviderRef,
  ResolvedPod,
  StopOptions,
} from '../types.ts';
import { findEnded, keepEnded, pruneEnded } from './ended.ts';
import { createMockExecSession } from './exec.ts';
import {
  MockAnnotation,
  mockContainerNames,
  mockPodIP,
  mockPodView,
  newInstance,
  parseInstanceId,
  type MockInstance,
} from './instances.ts';
import { mockLogChunk } from './logs.ts';
import { mockScript } from './script.ts';
import { mockPodStats } from './stats.ts';

export interface MockProviderOptions {
  /** The table holding the instances: the mock behaves like an outside system that survives restarts. */
  table: TableClient;
  startDelayMs: number;
  /** The exec server (execServer.ts) `kubectl exec` sessions go to; exec is refused without one. */
  execUrl?: string;
  now: () => number;
}

/** Instances podStats reads at once. */
const statsReadBatch = 16;

/** Row of the health switch tests use to make the provider unhealthy. */
const healthKey = { partitionKey: '~health', rowKey: 'health' };

/** Counts calls per method; one set per provider object, for tests and benchmarks. */
export interface MockCalls {
  createPod: number;
  deletePod: number;
  getPod: number;
  listPods: number;
}

export class MockProvider implements Provider, LogsProvider, StatsProvider, ExecProvider, PodAddressProvider {
  readonly name = 'mock' as const;
  readonly calls: MockCalls = { createPod: 0, deletePod: 0, getPod: 0, listPods: 0 };
  private readonly options: MockProviderOptions;

  constructor(options: MockProviderOptions) {
    this.options = options;
  }

  /** A mock instance's IP follows from its pod UID alone, so it is known before the create. */
  podAddress(pod: { uid: string }): Promise<string> {
    return Promise.resolve(mockPodIP(pod.uid));
  }

  async createPod(pod: ResolvedPod): Promise<CreatedInstance> {
    this.calls.createPod++;
    const refusal = pod.annotations[MockAnnotation.createError];
    if (refusal !== undefined) throw new InvalidInputError(refusal);
    const nowMs = this.options.now();
    const instance = { ...newInstance(pod, nowMs), ...mockScript(pod) };
    const view = mockPodView(instance, this.options.startDelayMs, nowMs);
    try {
      await this.options.table.createEntity({
        partitionKey: instance.node,
        rowKey: instance.id,
        ...instance,
      });
    } catch (err) {
      // Created before (a retry, a concurrent reconcile): the existing instance is the answer.
      if (!isTableStatus(err, 409)) throw err;
      return view.ref;
    }
    return { ...view.ref, view };
  }

  /**
   * With a grace period, the first call sends SIGTERM (records when, and the grace period, in the
   * row) and the instance runs on until its containers have exited (timeline.ts); the call that
   * finds them exited removes it.
   */
  async deletePod(ref: ProviderRef, stop?: StopOptions): Promise<void> {
    this.calls.deletePod++;
    const instance = await this.find(ref);
    if (!instance) return;
    const nowMs = this.options.now();
    const view = mockPodView(instance, this.options.startDelayMs, nowMs);
    const running = view.phase === 'Pending' || view.phase === 'Running';
    if (running && stop !== undefined && stop.gracePeriodSeconds > 0) {
      if (instance.stopRequestedAtMs !== undefined) return;
      const stopping = { stopRequestedAtMs: nowMs, stopGraceMs: stop.gracePeriodSeconds * 1000 };
      const after = mockPodView({ ...instance, ...stopping }, this.options.startDelayMs, nowMs);
      // Containers that exit at once on SIGTERM leave nothing to wait for: removed now.
      if (after.phase === 'Pending' || after.phase === 'Running') {
        try {
          await this.options.table.updateEntity(
            { partitionKey: instance.node, rowKey: instance.id, ...stopping },
            'Merge',
            { etag: (instance as MockInstance & { etag?: string }).etag ?? '*' },
          );
        } catch (err) {
          // Another call stopped it first (or removed it): its stop stands.
          if (!isTableStatus(err, 412) && !isTableStatus(err, 404)) throw err;
        }
        return;
      }
    }
    // Kept first, so that the output of a deleted instance stays readable (logs --previous).
    await keepEnded(this.options.table, instance, nowMs);
    await pruneEnded(this.options.table, instance);
    try {
      await this.options.table.deleteEntity(instance.node, instance.id);
    } catch (err) {
      if (!isTableStatus(err, 404)) throw err;
    }
  }

  async getPod(ref: ProviderRef): Promise<ProviderPodView | undefined> {
    this.calls.getPod++;
    const instance = await this.find(ref);
    return instance && mockPodView(instance, this.options.startDelayMs, this.options.now());
  }

  async listPods(node: string): Promise<ProviderPodView[]> {
    this.calls.listPods++;
    const now = this.options.now();
    const views: ProviderPodView[] = [];
    const rows = this.options.table.listEntities<MockInstance>({
      queryOptions: { filter: `PartitionKey eq '${node.replace(/'/g, "''")}'` },
    });
    for await (const row of rows) views.push(mockPodView(row, this.options.startDelayMs, now));
    return views;
  }

  capacity(_node: string): Promise<NodeCapacity> {
    return Promise.resolve({ cpu: '1000', memory: '4Ti', pods: '5000', ephemeralStorage: '10Ti' });
  }

  async health(): Promise<ProviderHealth> {
    try {
      const row = await this.options.table.getEntity<{ ok: boolean; message?: string }>(
        healthKey.partitionKey,
        healthKey.rowKey,
      );
      return row.ok
        ? { ok: true }
        : { ok: false, message: row.message ?? 'the mock provider is switched off' };
    } catch (err) {
      if (isTableStatus(err, 404)) return { ok: true };
      throw err;
    }
  }

  /** Reads a running instance or the kept copy of a deleted one (ended.ts). */
  async containerLogs(ref: ProviderRef, container: string, request: LogRequest): Promise<LogChunk> {
    const instance = (await this.find(ref)) ?? (await findEnded(this.options.table, ref.id));
    if (instance?.podUid !== ref.podUid) throw new NotFoundError(`mock instance ${ref.id} does not exist`);
    return mockLogChunk(instance, container, request, this.options.startDelayMs, this.options.now());
  }

  async podStats(refs: readonly ProviderRef[]): Promise<PodStats[]> {
    const stats: PodStats[] = [];
    for (let i = 0; i < refs.length; i += statsReadBatch) {
      const batch = refs.slice(i, i + statsReadBatch);
      const instances = await Promise.all(batch.map((ref) => this.find(ref)));
      const nowMs = this.options.now();
      instances.forEach((instance, j) => {
        if (instance === undefined || instance.podUid !== batch[j]?.podUid) return;
        const figures = mockPodStats(instance, this.options.startDelayMs, nowMs);
        if (figures !== undefined) stats.push(figures);
      });
    }
    return stats;
  }

  /** A session on the exec server, for a container of a running instance (exec.ts). */
  async execSession(
    ref: ProviderRef,
    container: string,
    command: readonly string[],
    options: ExecSessionOptions,
  ): Promise<ExecSession> {
    if (this.options.execUrl === undefined)
      throw new InvalidInputError(
        `the mock provider runs commands on its exec server, and ${Setting.mockExecUrl} names none (funclet local and the tests start one)`,
      );
    const instance = await this.find(ref);
    if (instance?.podUid !== ref.podUid || !mockContainerNames(instance).includes(container))
      throw new NotFoundError(`mock instance ${ref.id} has no container ${container}`);
    return createMockExecSession(
      this.options.table,
      this.options.execUrl,
      instance,
      container,
      command,
      options,
      this.options.now(),
    );
  }

  private async find(ref: ProviderRef): Promise<MockInstance | undefined> {
    const { node, rowKey } = parseInstanceId(ref.id);
    try {
      return await this.options.table.getEntity<MockInstance>(node, rowKey);
    } catch (err) {
      if (isTableStatus(err, 404)) return undefined;
      throw err;
    }
  }
}

/** Test control: make the mock provider report itself unhealthy (or healthy again). */
export async function setMockHealth(table: TableClient, health: ProviderHealth): Promise<void> {
  await table.upsertEntity({ ...healthKey, ok: health.ok, message: health.message ?? '' }, 'Replace');
}

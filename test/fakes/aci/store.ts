/**
 * The fake's container groups and how they evolve. Time-driven states are computed when read,
 * from the fake's clock: a group is Creating until its provisioning delay has passed, then
 * Succeeded with its containers Running (init containers Terminated with 0). Tests change
 * states explicitly (terminate a container, fail provisioning) through the FakeAci controls.
 *
 * What GET returns never carries secrets: secure environment values, registry passwords,
 * storage keys and secret volume contents are left out, as ACI does.
 */
import {
  normalizeLocation,
  resourceType,
  type WireContainer,
  type WireEvent,
  type WireGroup,
  type WireInstanceView,
  type WireState,
} from './wire.ts';

export interface GroupRecord {
  subscription: string;
  resourceGroup: string;
  name: string;
  /** As PUT, secrets included. */
  spec: WireGroup;
  createdAtMs: number;
  readyAtMs: number;
  failure?: { code: string; message: string };
  deletingUntilMs?: number;
  ip?: string;
  /** Explicit container states set by tests; others follow the provisioning clock. */
  runtime: Map<string, WireInstanceView>;
  logs: Map<string, { atMs: number; line: string }[]>;
}

export interface StoreSettings {
  now: () => number;
  provisioningDelayMs: number;
  deleteDelayMs: number;
}

export class GroupStore {
  readonly settings: StoreSettings;
  private readonly groups = new Map<string, GroupRecord>();
  private nextIp = 1;
  private pendingFailure: { code: string; message: string } | undefined;

  constructor(settings: StoreSettings) {
    this.settings = settings;
  }

  static key(subscription: string, resourceGroup: string, name: string): string {
    return `${subscription}/${resourceGroup}/${name}`.toLowerCase();
  }

  get(subscription: string, resourceGroup: string, name: string): GroupRecord | undefined {
    return this.byKey(GroupStore.key(subscription, resourceGroup, name));
  }

  byKey(key: string): GroupRecord | undefined {
    const record = this.groups.get(key);
    if (record?.deletingUntilMs !== undefined && record.deletingUntilMs <= this.settings.now()) {
      this.groups.delete(key);
      return undefined;
    }
    return record;
  }

  /** Creates or replaces a group; a replaced group provisions again when its containers changed. */
  put(
    subscription: string,
    resourceGroup: string,
    name: string,
    spec: WireGroup,
  ): { record: GroupRecord; created: boolean } {
    const key = GroupStore.key(subscription, resourceGroup, name);
    const now = this.settings.now();
    const existing = this.byKey(key);
    if (
      existing !== undefined &&
      JSON.stringify(existing.spec.properties) === JSON.stringify(spec.properties)
    ) {
      existing.spec = spec;
      return { record: existing, created: false };
    }
    const record: GroupRecord = {
      subscription,
      resourceGroup,
      name,
      spec,
      createdAtMs: existing?.createdAtMs ?? now,
      readyAtMs: now + this.settings.provisioningDelayMs,
      runtime: new Map(),
      logs: existing?.logs ?? new Map<string, { atMs: number; line: string }[]>(),
    };
    if (spec.properties.ipAddress !== undefined)
      record.ip = existing?.ip ?? this.allocateIp(spec.properties.ipAddress.type);
    if (this.pendingFailure !== undefined) {
      record.failure = this.pendingFailure;
      this.pendingFailure = undefined;
    }
    this.groups.set(key, record);
    return { record, created: existing === undefined };
  }

  /** Starts deleting; the group disappears after the delete delay (at once when it is 0). */
  delete(record: GroupRecord): void {
    const key = GroupStore.key(record.subscription, record.resourceGroup, record.name);
    if (this.settings.deleteDelayMs <= 0) this.groups.delete(key);
    else record.deletingUntilMs ??= this.settings.now() + this.settings.deleteDelayMs;
  }

  /** Removes a group at once, whatever the delete delay (an out-of-band delete). */
  remove(record: GroupRecord): void {
    this.groups.delete(GroupStore.key(record.subscription, record.resourceGroup, record.name));
  }

  all(): GroupRecord[] {
    return [...this.groups.keys()]
      .map((key) => this.byKey(key))
      .filter((r): r is GroupRecord => r !== undefined)
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  list(subscription: string, resourceGroup?: string): GroupRecord[] {
    return this.all()
      .filter((r) => r.subscription.toLowerCase() === subscription.toLowerCase())
      .filter(
        (r) => resourceGroup === undefined || r.resourceGroup.toLowerCase() === resourceGroup.toLowerCase(),
      );
  }

  inLocation(subscription: string, location: string): GroupRecord[] {
    return this.list(subscription).filter(
      (r) => normalizeLocation(r.spec.location) === normalizeLocation(location),
    );
  }

  /** Finds a group by name alone, for test controls. */
  named(name: string): GroupRecord {
    const matches = this.all().filter((r) => r.name.toLowerCase() === name.toLowerCase());
    if (matches.length !== 1 || matches[0] === undefined)
      throw new Error(`fake ACI: ${matches.length} container groups named ${name}`);
    return matches[0];
  }

  failNextProvisioning(failure: { code: string; message: string }): void {
    this.pendingFailure = failure;
  }

  provisioningState(record: GroupRecord): string {
    if (record.deletingUntilMs !== undefined) return 'Deleting';
    if (record.failure !== undefined) return 'Failed';
    return this.isProvisioned(record) ? 'Succeeded' : 'Creating';
  }

  isProvisioned(record: GroupRecord): boolean {
    return record.failure === undefined && this.settings.now() >= record.readyAtMs;
  }

  /**
   * When each init container runs and when the containers start: ACI runs the init containers one
   * after another once the group is provisioned, each to its end (its scripted exit, below; at
   * once by default), and starts the containers when all have exited 0. After one that failed,
   * nothing more starts (the fake models restartPolicy Never for init containers).
   */
  private initRuns(record: GroupRecord): {
    runs: Map<string, { startMs: number; endMs: number; code: number }>;
    containersAtMs: number | undefined;
  } {
    const runs = new Map<string, { startMs: number; endMs: number; code: number }>();
    let cursor: number | undefined = record.readyAtMs;
    for (const c of record.spec.properties.initContainers ?? []) {
      if (cursor === undefined) break;
      const { code, afterMs } = scriptOf(c);
      const run: { startMs: number; endMs: number; code: number } = {
        startMs: cursor,
        endMs: cursor + (afterMs > 0 ? afterMs : 0),
        code: code ?? 0,
      };
      runs.set(c.name, run);
      cursor = run.code === 0 ? run.endMs : undefined;
    }
    return { runs, containersAtMs: cursor };
  }

  /** The container's instance view now: an explicit state, or what provisioning has reached. */
  instanceView(record: GroupRecord, container: WireContainer, init: boolean): WireInstanceView {
    const explicit = record.runtime.get(container.name);
    if (explicit !== undefined) return explicit;
    const waiting: WireInstanceView = {
      restartCount: 0,
      currentState: { state: 'Waiting', detailStatus: '' },
      events: [],
    };
    if (!this.isProvisioned(record)) return waiting;
    const { runs, containersAtMs } = this.initRuns(record);
    const now = this.settings.now();
    if (init) {
      const run = runs.get(container.name);
      if (run === undefined || now < run.startMs) return waiting;
      const image = container.properties.image ?? '';
      const events = [
        event('Pulling', `pulling image "${image}"`, run.startMs),
        event('Pulled', `Successfully pulled image "${image}"`, run.startMs),
        event('Started', 'Started container', run.startMs),
      ];
      if (now < run.endMs)
        return {
          restartCount: 0,
          currentState: { state: 'Running', startTime: iso(run.startMs), detailStatus: '' },
          events,
        };
      return {
        restartCount: 0,
        currentState: {
          state: 'Terminated',
          exitCode: run.code,
          startTime: iso(run.startMs),
          finishTime: iso(run.endMs),
          detailStatus: run.code === 0 ? 'Completed' : 'Error',
        },
        events,
      };
    }
    if (containersAtMs === undefined || now < containersAtMs) return waiting;
    return this.startedView(record, container, containersAtMs);
  }

  private startedView(record: GroupRecord, container: WireContainer, startMs: number): WireInstanceView {
    const at = iso(startMs);
    const image = container.properties.image ?? '';
    const events: WireEvent[] = [
      event('Pulling', `pulling image "${image}"`, startMs),
      event('Pulled', `Successfully pulled image "${image}"`, startMs),
      event('Started', 'Started container', startMs),
    ];
    const scripted = this.scriptedExit(record, container, startMs);
    if (scripted) return { ...scripted, events };
    return { restartCount: 0, currentState: { state: 'Running', startTime: at, detailStatus: '' }, events };
  }

  /**
   * A container whose env sets FAKE_ACI_EXIT_CODE and FAKE_ACI_EXIT_AFTER_SECONDS ends with that
   * code that long after it started, per pod, as the mock provider's annotations script a pod
   * (ARM never sees pod annotations, but it does see a container's env). Under restartPolicy
   * Always, or OnFailure with a non-zero code, ACI starts it again, and it ends again each period.
   */
  private scriptedExit(
    record: GroupRecord,
    container: WireContainer,
    startMs: number,
  ): Omit<WireInstanceView, 'events'> | undefined {
    const { code, afterMs } = scriptOf(container);
    if (code === undefined || !(afterMs > 0)) return undefined;
    const elapsed = this.settings.now() - startMs;
    const ended = Math.floor(elapsed / afterMs);
    if (ended === 0) return undefined;
    const policy = record.spec.properties.restartPolicy ?? 'Always';
    const restarts = policy === 'Always' || (policy === 'OnFailure' && code !== 0);
    const run = (n: number): WireState => ({
      state: 'Terminated',
      exitCode: code,
      startTime: iso(startMs + n * afterMs),
      finishTime: iso(startMs + (n + 1) * afterMs),
      detailStatus: code === 0 ? 'Completed' : 'Error',
    });
    if (!restarts) return { restartCount: 0, currentState: run(0) };
    return {
      restartCount: ended,
      currentState: {
        state: 'Running',
        startTime: iso(startMs + ended * afterMs),
        detailStatus: '',
      },
      previousState: run(ended - 1),
    };
  }

  /** The group as GET returns it; the list API leaves instance views out. */
  render(record: GroupRecord, withInstanceView: boolean): WireGroup {
    const spec = record.spec;
    const props = spec.properties;
    const containers = (list: WireContainer[] | undefined, init: boolean): WireContainer[] | undefined =>
      list?.map((c) => {
        const properties: WireContainer['properties'] = {
          ...c.properties,
          environmentVariables: (c.properties.environmentVariables ?? []).map((e) =>
            e.secureValue !== undefined ? { name: e.name } : { name: e.name, value: e.value ?? '' },
          ),
        };
        if (withInstanceView) properties.instanceView = this.instanceView(record, c, init);
        else delete properties.instanceView;
        return { name: c.name, properties };
      });
    const rendered: WireGroup = {
      id: `/subscriptions/${record.subscription}/resourceGroups/${record.resourceGroup}/providers/${resourceType}/${record.name}`,
      name: record.name,
      type: resourceType,
      location: spec.location,
      ...(spec.tags === undefined ? {} : { tags: spec.tags }),
      properties: {
        ...props,
        provisioningState: this.provisioningState(record),
        containers: containers(props.containers, false) ?? [],
        ...(props.initContainers === undefined
          ? {}
          : { initContainers: containers(props.initContainers, true) }),
        ...(props.imageRegistryCredentials === undefined
          ? {}
          : {
              imageRegistryCredentials: props.imageRegistryCredentials.map((c) => ({
                server: c.server,
                username: c.username,
              })),
            }),
        ...(props.volumes === undefined ? {} : { volumes: props.volumes.map(scrubVolume) }),
      },
    };
    if (props.ipAddress !== undefined) {
      rendered.properties.ipAddress = { ...props.ipAddress };
      if (this.isProvisioned(record) && record.ip !== undefined) rendered.properties.ipAddress.ip = record.ip;
    }
    if (withInstanceView)
      rendered.properties.instanceView = { state: this.groupState(record), events: this.groupEvents(record) };
    else delete rendered.properties.instanceView;
    return rendered;
  }

  private groupState(record: GroupRecord): string {
    if (!this.isProvisioned(record)) return 'Pending';
    const inits = (record.spec.properties.initContainers ?? []).map(
      (c) => this.instanceView(record, c, true).currentState,
    );
    if (inits.some((s) => s.state === 'Terminated' && s.exitCode !== 0)) return 'Failed';
    const states = record.spec.properties.containers.map(
      (c) => this.instanceView(record, c, false).currentState,
    );
    if (states.some((s) => s.state === 'Running')) return 'Running';
    if (states.every((s) => s.state === 'Terminated'))
      return states.every((s) => s.exitCode === 0) ? 'Succeeded' : 'Failed';
    return 'Pending';
  }

  private groupEvents(record: GroupRecord): WireEvent[] {
    if (record.failure === undefined) return [];
    return [{ ...event(record.failure.code, record.failure.message, record.createdAtMs), type: 'Warning' }];
  }

  private allocateIp(type: string): string {
    const n = this.nextIp++;
    return `${type === 'Private' ? '10.240' : '20.62'}.${(n >> 8) & 255}.${n & 255}`;
  }
}

function scrubVolume(volume: NonNullable<WireGroup['properties']['volumes']>[number]): typeof volume {
  if (volume.secret !== undefined) return { name: volume.name, secret: {} };
  if (volume.azureFile !== undefined) {
    const azureFile = { ...volume.azureFile };
    delete azureFile.storageAccountKey;
    return { name: volume.name, azureFile };
  }
  return volume;
}

/** A container's scripted exit, from its env (FAKE_ACI_EXIT_CODE, FAKE_ACI_EXIT_AFTER_SECONDS). */
function scriptOf(container: WireContainer): { code: number | undefined; afterMs: number } {
  const env = new Map((container.properties.environmentVariables ?? []).map((e) => [e.name, e.value]));
  const text = env.get('FAKE_ACI_EXIT_CODE');
  const code = text === undefined || text.trim() === '' ? NaN : Number(text);
  const afterMs = Number(env.get('FAKE_ACI_EXIT_AFTER_SECONDS') ?? '0') * 1000;
  return { code: Number.isInteger(code) ? code : undefined, afterMs: Number.isFinite(afterMs) ? afterMs : 0 };
}

export function event(name: string, message: string, atMs: number): WireEvent {
  return { count: 1, firstTimestamp: iso(atMs), lastTimestamp: iso(atMs), name, message, type: 'Normal' };
}

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

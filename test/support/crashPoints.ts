/**
 * Crash points: one invocation (a resync, a batch of pokes) whose k-th external call fails or
 * "crashes". External calls are every method of the Kubernetes API groups, of the pod records'
 * table client and of the Provider, counted in the order they are made. At call k the plan either
 * throws before calling (`before`: the call failed and had no effect) or calls through and throws
 * once it has answered (`after`: the call took effect and the invocation died before it heard).
 *
 * A crash ends the invocation: from that call on, every external call throws CrashError without
 * being made, so code that catches the error (a resync counting a pod's failure and moving on)
 * can do nothing more outside the process, as a process that died could not.
 *
 * The wrapping is done on a Runtime, so the invocation under test builds its PodDeps through the
 * real composition root (podDeps) from the wrapped clients.
 */
import type { TableClient } from '@azure/data-tables';
import type { KubeClients } from '../../core/kube/clients.ts';
import type { Provider } from '../../core/providers/provider.ts';
import type { Tables } from '../../core/state/tables.ts';
import type { Runtime } from '../../functions/runtime.ts';

export type CrashMode = 'before' | 'after';

export interface CrashPlan {
  /** The 1-based number of the external call that crashes. */
  at: number;
  mode: CrashMode;
}

export class CrashError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CrashError';
  }
}

/** Whether err is a crash, or wraps one (kubeError and friends keep `cause`). */
export function isCrash(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 10; e = e.cause, depth++) {
    if (e instanceof CrashError) return true;
  }
  return false;
}

/** Counts one invocation's external calls and crashes it as planned. */
export class CallRecorder {
  /** Each call by surface and method, in the order it was made (or refused after the crash). */
  readonly calls: string[] = [];
  /** The call the plan crashed, once it has. */
  crashed: string | undefined;
  private readonly plan: CrashPlan | undefined;

  constructor(plan?: CrashPlan) {
    this.plan = plan;
  }

  /** Runs `call` as external call number calls.length + 1, or crashes instead, or after it. */
  async intercept<T>(what: string, call: () => Promise<T>): Promise<T> {
    if (this.crashed !== undefined) throw new CrashError(`${what} after the invocation crashed`);
    this.calls.push(what);
    const n = this.calls.length;
    if (this.plan?.at !== n) return call();
    this.crashed = `${this.plan.mode} ${what} (call ${n})`;
    if (this.plan.mode === 'before') throw new CrashError(`crashed before ${what} (call ${n})`);
    try {
      await call();
    } catch {
      // The call failed on its own; the invocation dies all the same.
    }
    throw new CrashError(`crashed after ${what} (call ${n})`);
  }
}

/**
 * The runtime as the invocation under test sees it: its node's Kubernetes clients, its providers
 * and its pod records table, every call counted by `recorder`. The rest (settings, clock, the
 * mock's own instance table, which stands for the outside system) is the runtime's own.
 */
export function crashingRuntime(runtime: Runtime, recorder: CallRecorder): Runtime {
  const tables = new Proxy(runtime.tables, {
    get(target, prop, receiver) {
      if (prop !== 'table') return Reflect.get(target, prop, receiver) as unknown;
      return async (name: Parameters<Tables['table']>[0]) => {
        const client = await target.table(name);
        return name === 'pods' ? crashingTable(client, recorder) : client;
      };
    },
  });
  return {
    ...runtime,
    kubeFor: (node: string) => crashingKube(runtime.kubeFor(node), recorder),
    kubeconfig: () => runtime.kubeconfig(),
    useKubeconfig: (text: string) => runtime.useKubeconfig(text),
    tables,
    provider: async (name, logger) => crashingProvider(await runtime.provider(name, logger), recorder),
  };
}

export function crashingKube(kube: KubeClients, recorder: CallRecorder): KubeClients {
  return {
    config: kube.config,
    core: counted(kube.core, 'kube.core', recorder),
    coordination: counted(kube.coordination, 'kube.coordination', recorder),
    events: counted(kube.events, 'kube.events', recorder),
    certificates: counted(kube.certificates, 'kube.certificates', recorder),
  };
}

export function crashingProvider(provider: Provider, recorder: CallRecorder): Provider {
  return counted(provider, `provider.${provider.name}`, recorder);
}

/** The table client's calls, listEntities included: one call that reads every page. */
export function crashingTable(table: TableClient, recorder: CallRecorder): TableClient {
  return new Proxy(table, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function') return value;
      if (prop === 'listEntities') {
        return (...args: unknown[]) => {
          const read = () =>
            recorder.intercept('table.listEntities', async () => {
              const rows: unknown[] = [];
              for await (const row of (value as (...a: unknown[]) => AsyncIterable<unknown>).apply(
                target,
                args,
              ))
                rows.push(row);
              return rows;
            });
          return (async function* () {
            yield* await read();
          })();
        };
      }
      if (!tableCalls.has(String(prop))) return value.bind(target) as unknown;
      return (...args: unknown[]) =>
        recorder.intercept(`table.${String(prop)}`, () =>
          (value as (...a: unknown[]) => Promise<unknown>).apply(target, args),
        );
    },
  });
}

/** The TableClient methods that reach Table Storage and return a promise. */
const tableCalls = new Set([
  'getEntity',
  'createEntity',
  'updateEntity',
  'upsertEntity',
  'deleteEntity',
  'submitTransaction',
  'createTable',
  'deleteTable',
]);

/**
 * Every method of `target`, counted; properties pass through. The proxy stands over an object of
 * its own rather than over `target`, whose methods may be read-only properties (the provider's
 * security check defines createPod so) that a proxy of it would have to return unchanged.
 */
function counted<T extends object>(target: T, surface: string, recorder: CallRecorder): T {
  return new Proxy(Object.create(target) as T, {
    get(_shadow, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof value !== 'function' || typeof prop === 'symbol' || prop === 'constructor') return value;
      return (...args: unknown[]) =>
        recorder.intercept(`${surface}.${prop}`, () =>
          Promise.resolve((value as (...a: unknown[]) => unknown).apply(target, args)),
        );
    },
  });
}

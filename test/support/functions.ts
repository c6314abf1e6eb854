import { InvocationContext, type Timer } from '../../functions/azure.ts';
import { createRuntime, type Runtime } from '../../functions/runtime.ts';
import { Setting } from '../../core/config.ts';
import type { ProviderOverrides } from '../../core/providers/index.ts';
import { testEnv } from './env.ts';

/** A timer trigger's payload, as the Functions host passes it. */
export function timer(isPastDue = false): Timer {
  return {
    isPastDue,
    schedule: { adjustForDST: false },
    scheduleStatus: {
      last: new Date().toISOString(),
      next: new Date().toISOString(),
      lastUpdated: new Date().toISOString(),
    },
  };
}

export interface CapturedContext {
  context: InvocationContext;
  /** Each structured line the invocation logged, parsed. */
  lines: Record<string, unknown>[];
}

/** A real InvocationContext whose log lines are captured. */
export function invocation(functionName: string): CapturedContext {
  const lines: Record<string, unknown>[] = [];
  const context = new InvocationContext({
    invocationId: `test-${Math.random().toString(36).slice(2)}`,
    functionName,
    logHandler: (_level, ...args) => {
      for (const arg of args) {
        if (typeof arg === 'string' && arg.startsWith('{'))
          lines.push(JSON.parse(arg) as Record<string, unknown>);
      }
    },
  });
  return { context, lines };
}

/** Settings for function code under test: the ServiceAccount kubeconfig, Azurite, and the nodes given. */
export function functionSettings(options: {
  kubeconfig: string;
  nodes: object[];
  tablePrefix: string;
  extra?: Record<string, string>;
}): Record<string, string> {
  return {
    [Setting.nodes]: JSON.stringify(options.nodes),
    [Setting.kubeconfig]: Buffer.from(options.kubeconfig).toString('base64'),
    [Setting.tableConnectionString]: testEnv().azurite.connectionString,
    [Setting.tablePrefix]: options.tablePrefix,
    [Setting.mockStartDelayMs]: '500',
    ...options.extra,
  };
}

/** A fresh composition root per call: nothing is carried in memory between invocations. */
export function freshRuntimes(
  env: Record<string, string>,
  now?: () => number,
  providers?: ProviderOverrides,
): () => Runtime {
  return () => createRuntime({ env, now, providers });
}

/**
 * A Funclet mock node as the benchmarks run it: the function app in a process of its own
 * (functionProcess.ts) with the given timers on their schedules, and the relay here, watching
 * the node with its own ServiceAccount and poking podEvents.
 */
import { join } from 'node:path';
import { localWebhookSecret } from '../../cli/eventPath.ts';
import { KubeConfig } from '@kubernetes/client-node';
import { relayServiceAccount, serviceAccountKubeconfig } from '../../cli/serviceAccount.ts';
import { Setting } from '../../core/config.ts';
import { createLogger } from '../../core/log.ts';
import { defaultBatchMaxInFlight, startRelay } from '../../core/relay/watcher.ts';
import { azuriteConnectionString } from '../support/azurite.ts';
import { functionKubeconfig } from '../support/kube.ts';
import { startFunctionProcess, type FunctionProcess } from './functionProcess.ts';
import type { BenchServices } from './services.ts';

export interface FuncletNode {
  functions: FunctionProcess;
  /** Batches the relay sent again after an attempt failed or timed out, so far. */
  relayRetries(): number;
  stop(): Promise<void>;
}

export async function startFuncletNode(
  services: BenchServices,
  options: {
    node: string;
    tablePrefix: string;
    /** leaseRenew, nodeStatus, podResync. */
    timers: string[];
    /** More FUNCLET_* settings. */
    settings?: Record<string, string>;
    /** No relay (the resync alone carries the pods). */
    relay?: boolean;
    /** The relay's per-attempt webhook timeout; its default (10 s) when absent. */
    relayAttemptTimeoutMs?: number;
    cpuProfileDir?: string;
  },
): Promise<FuncletNode> {
  const secret = localWebhookSecret();
  const functions = await startFunctionProcess({
    settings: {
      [Setting.nodes]: JSON.stringify([{ name: options.node, provider: 'mock' }]),
      [Setting.kubeconfig]: await functionKubeconfig(services.admin, [options.node]),
      [Setting.tableConnectionString]: azuriteConnectionString(services.azurite.port),
      [Setting.tablePrefix]: options.tablePrefix,
      [Setting.webhookSecret]: secret,
      [Setting.mockStartDelayMs]: '0',
      ...options.settings,
    },
    timers: options.timers,
    logFile: join(services.dir, `functions-${options.node}.log`),
    cpuProfileDir: options.cpuProfileDir,
  });
  if (options.relay === false) return { functions, relayRetries: () => 0, stop: () => functions.stop() };
  try {
    // The relay's watch and webhook sender as `funclet relay` runs them (cli/relay.ts adds its
    // health and kubelet endpoints, which the benchmarks do not need), with its own token.
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromString(
      await serviceAccountKubeconfig(services.admin, relayServiceAccount, { expirationSeconds: 24 * 3600 }),
    );
    let retries = 0;
    const relay = startRelay({
      kubeConfig,
      nodes: [options.node],
      webhookUrl: functions.webhookUrl,
      secret,
      batchMaxInFlight: defaultBatchMaxInFlight,
      ...(options.relayAttemptTimeoutMs !== undefined
        ? { webhookAttemptTimeoutMs: options.relayAttemptTimeoutMs }
        : {}),
      logger: createLogger(
        { functionName: 'relay' },
        {
          minLevel: 'warn',
          sink: (_level, line) => {
            if (line.includes('did not take a batch of pokes; retrying')) retries++;
          },
        },
      ),
    });
    return {
      functions,
      relayRetries: () => retries,
      async stop() {
        await relay.stop();
        await functions.stop();
      },
    };
  } catch (err) {
    await functions.stop();
    throw err;
  }
}

/** Bench pods on a node: scheduled there by the scheduler (never a preset nodeName). */
export function scheduledOnto(node: string) {
  return {
    nodeSelector: { 'kubernetes.io/hostname': node },
    tolerations: [{ operator: 'Exists' }],
  };
}

/**
 * A mock-or-cloud virtual node for the kubelet endpoint benchmarks (logs, exec): its Lease
 * renewed every 10 s, its event path (relay and podEvents) running, and its kubelet address
 * posted before the benchmark's first pod.
 */
import type { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { startEventPath } from '../../cli/eventPath.ts';
import { createLogger } from '../../core/log.ts';
import { leaseRenewHandler } from '../../functions/leaseRenew.ts';
import { nodeStatusHandler } from '../../functions/nodeStatus.ts';
import type { Runtime } from '../../functions/runtime.ts';
import { invocation, timer } from '../support/functions.ts';

export interface KubeletBenchNode {
  /** Stops the Lease renewal and the event path. */
  stop(): Promise<void>;
}

export async function startKubeletBenchNode(options: {
  admin: KubeConfig;
  core: CoreV1Api;
  runtime: Runtime;
  node: string;
  secret: string;
}): Promise<KubeletBenchNode> {
  const runtimes = () => options.runtime;
  await leaseRenewHandler(runtimes)(timer(), invocation('leaseRenew').context);
  const events = await startEventPath({
    admin: options.admin,
    runtimes,
    nodes: [options.node],
    secret: options.secret,
    out: () => undefined,
    logger: createLogger({}, { minLevel: 'error' }),
  });
  const renew = setInterval(() => {
    void leaseRenewHandler(runtimes)(timer(), invocation('leaseRenew').context).catch(() => undefined);
  }, 10_000);
  const stop = async () => {
    clearInterval(renew);
    await events.stop();
  };
  try {
    await waitUntil(async () => {
      await nodeStatusHandler(runtimes)(timer(), invocation('nodeStatus').context);
      const n = await options.core.readNode({ name: options.node });
      return n.status?.addresses?.some((a) => a.type === 'InternalIP') === true;
    });
  } catch (err) {
    await stop();
    throw err;
  }
  return { stop };
}

/** Polls `check` until it holds; a check that throws counts as not yet. */
export async function waitUntil(
  check: () => Promise<boolean>,
  timeoutMs = 60_000,
  intervalMs = 200,
): Promise<void> {
  for (const until = Date.now() + timeoutMs; Date.now() < until;) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error('timed out');
}

import { startTimerLoop, type TimerLoop } from '../../cli/timerLoop.ts';
import { leaseRenewHandler, leaseRenewSchedule } from '../../functions/leaseRenew.ts';
import { nodeStatusHandler } from '../../functions/nodeStatus.ts';
import { podResyncHandler } from '../../functions/podResync.ts';
import type { Runtime } from '../../functions/runtime.ts';
import { invocation, timer } from './functions.ts';

/** Tolerations and a selector that put a pod on exactly this test's virtual node. */
export function onVirtualNode(node: string) {
  return {
    nodeSelector: { 'kubernetes.io/hostname': node },
    tolerations: [{ key: 'virtual-kubelet.io/provider', operator: 'Exists', effect: 'NoSchedule' }],
  };
}

/**
 * Registers the node and keeps its lease renewed on the real 10-second schedule for as long as
 * the test file runs, so the scheduler keeps placing pods on it.
 */
export async function keepNodeReady(runtimes: () => Runtime): Promise<TimerLoop> {
  const renew = leaseRenewHandler(runtimes);
  await renew(timer(), invocation('leaseRenew').context);
  await nodeStatusHandler(runtimes)(timer(), invocation('nodeStatus').context);
  return startTimerLoop(
    leaseRenewSchedule,
    () => renew(timer(), invocation('leaseRenew').context),
    (err) => {
      process.stderr.write(`leaseRenew failed: ${String(err)}\n`);
    },
  );
}

/** Runs podResync (a fresh composition root each time) until `done` holds, or fails after `passes`. */
export async function resyncUntil(
  runtimes: () => Runtime,
  what: string,
  done: () => Promise<boolean>,
  options: { passes?: number; pauseMs?: number } = {},
): Promise<number> {
  const resync = podResyncHandler(runtimes);
  const passes = options.passes ?? 20;
  for (let pass = 1; pass <= passes; pass++) {
    await resync(timer(), invocation('podResync').context);
    if (await done()) return pass;
    await new Promise((r) => setTimeout(r, options.pauseMs ?? 500));
  }
  throw new Error(`after ${passes} resync passes: ${what} still not true`);
}

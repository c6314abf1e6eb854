import { parseSchedule } from './ncrontab.ts';

export interface TimerLoop {
  /** Stops firing; resolves when a run in progress has finished. */
  stop(): Promise<void>;
}

/**
 * Fires `run` on a six-field NCRONTAB schedule, as the Functions host does for a timer trigger:
 * one run at a time (a run still going when the next is due makes that one past due and it
 * fires once it ends). Errors are reported to `onError` and do not stop the loop.
 */
export function startTimerLoop(
  schedule: string,
  run: (isPastDue: boolean) => Promise<void>,
  onError: (err: unknown) => void,
): TimerLoop {
  const parsed = parseSchedule(schedule);
  let stopped = false;
  let timeout: NodeJS.Timeout | undefined;
  let current: Promise<void> = Promise.resolve();

  const arm = (afterMs: number) => {
    if (stopped) return;
    const due = parsed.next(afterMs);
    timeout = setTimeout(
      () => {
        const pastDue = Date.now() - due > 1000;
        current = run(pastDue)
          .catch(onError)
          .finally(() => arm(Math.max(due, Date.now() - 1000)));
      },
      Math.max(0, due - Date.now()),
    );
  };
  arm(Date.now());

  return {
    async stop() {
      stopped = true;
      clearTimeout(timeout);
      await current;
    },
  };
}

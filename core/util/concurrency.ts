export interface BoundedRun<T, R> {
  results: R[];
  /** Items not started because the time budget ran out, in their order; the next pass takes them. */
  notStarted: T[];
}

/**
 * Runs `work` over `items`, at most `limit` at a time, starting no new item once `deadlineMs`
 * (epoch ms, by `now`) has passed. Items already running are allowed to finish.
 */
export async function runBounded<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<R>,
  options: { deadlineMs?: number; now?: () => number } = {},
): Promise<BoundedRun<T, R>> {
  const now = options.now ?? Date.now;
  const results: R[] = [];
  let next = 0;
  const notStarted: T[] = [];
  const worker = async () => {
    while (next < items.length) {
      if (options.deadlineMs !== undefined && now() >= options.deadlineMs) {
        notStarted.push(...items.slice(next));
        next = items.length;
        return;
      }
      const item = items[next++]!;
      results.push(await work(item));
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return { results, notStarted };
}

/** Counts API server and Table Storage requests by kind while a benchmark step runs. */
export class RequestCounters {
  kube = { reads: 0, writes: 0, statusPatches: 0 };
  tables = { reads: 0, writes: 0 };

  observeKube = (method: string, url: string): void => {
    if (method === 'GET') this.kube.reads++;
    else this.kube.writes++;
    if (method === 'PATCH' && /\/pods\/[^/]+\/status/.test(url)) this.kube.statusPatches++;
  };

  observeTable = (method: string): void => {
    if (method === 'GET') this.tables.reads++;
    else this.tables.writes++;
  };

  reset(): void {
    this.kube = { reads: 0, writes: 0, statusPatches: 0 };
    this.tables = { reads: 0, writes: 0 };
  }
}

/** The p-th percentile of ascending values (nearest rank); NaN when there are none. */
export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

export function peakRssMiB(): number {
  return Math.round(process.resourceUsage().maxRSS / 1024);
}

/** Prints rows as an aligned table. */
export function printTable(title: string, rows: Record<string, string | number>[]): void {
  const first = rows[0];
  if (!first) return;
  const keys = Object.keys(first);
  const widths = keys.map((k) => Math.max(k.length, ...rows.map((r) => String(r[k]).length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i]!)).join('  ');
  process.stdout.write(
    `\n${title}\n${line(keys)}\n${rows.map((r) => line(keys.map((k) => String(r[k])))).join('\n')}\n`,
  );
}

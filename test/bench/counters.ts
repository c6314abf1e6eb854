/** Counts API server and Table Storage requests by kind while a benchmark step runs. */
export class RequestCounters {
  kube = { reads: 0, writes: 0, statusPatches: 0 };
  tables = { reads: 0, writes: 0 };
  /** Requests by kind: method and path, names and keys left out ("GET pods?list"). */
  byKind: Record<string, number> = {};

  observeKube = (method: string, url: string): void => {
    if (method === 'GET') this.kube.reads++;
    else this.kube.writes++;
    if (method === 'PATCH' && /\/pods\/[^/]+\/status/.test(url)) this.kube.statusPatches++;
    this.#count(`API ${method} ${kubeKind(method, url)}`);
  };

  observeTable = (method: string, url: string): void => {
    if (method === 'GET') this.tables.reads++;
    else this.tables.writes++;
    this.#count(`table ${method} ${tableKind(url)}`);
  };

  reset(): void {
    this.kube = { reads: 0, writes: 0, statusPatches: 0 };
    this.tables = { reads: 0, writes: 0 };
    this.byKind = {};
  }

  #count(kind: string): void {
    this.byKind[kind] = (this.byKind[kind] ?? 0) + 1;
  }
}

/** "pods/status", "pods (list)", "events": the resource an API server URL names, without names. */
function kubeKind(method: string, url: string): string {
  const { pathname, searchParams } = new URL(url);
  const parts = pathname.split('/').filter(Boolean);
  const at = parts.indexOf('namespaces');
  const rest = at >= 0 ? parts.slice(at + 2) : parts.slice(parts[0] === 'api' ? 2 : 3);
  const resource = rest.length === 0 ? (parts[at + 1] === undefined ? 'namespaces' : 'namespace') : rest[0]!;
  const sub = rest.length > 2 ? `/${rest[2]}` : '';
  const list =
    rest.length === 1 && method === 'GET'
      ? searchParams.get('watch') === 'true'
        ? ' (watch)'
        : ' (list)'
      : '';
  return `${resource}${sub}${list}`;
}

/** "pods(entity)", "mock(query)": the table a Table Storage URL names and how. */
function tableKind(url: string): string {
  const path = new URL(url).pathname.split('/').filter(Boolean).at(-1) ?? '';
  const table = path.replace(/\(.*$/, '');
  return `${table}${path.includes('(PartitionKey=') ? '(entity)' : path.includes('(') ? '(table)' : '(query)'}`;
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

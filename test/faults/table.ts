/** One row of the fault suite's table, and the table as `npm run faults` prints it. */
export interface FaultRow {
  fault: string;
  /** Faults that landed: calls failed, requests dropped or refused, restarts, pokes sent. */
  injected: number;
  /** Distinct pods with any change from the fault's start until the state settled. */
  podsTouched: number;
  /** Pods with more than one live instance once settled. */
  duplicates: number;
  /** Instances without a pod bound to the node (or still live for a pod that has ended). */
  orphans: number;
  /** Pods not at the phase expected of them, without their instance, or not gone once deleted. */
  lostPods: number;
  /** Records naming an instance the provider does not have, or outliving their pod. */
  staleRecords: number;
  /** podEvents requests without a valid signature that were answered 2xx. */
  forgedAccepted: number;
  /** podEvents requests without a valid signature sent during the fault. */
  forgedSent: number;
  /** From the fault's end until the invariants held; undefined when they did not within the limit. */
  settleMs?: number;
  /** What still did not hold at the limit. */
  unsettled: string[];
}

/** Whether a row shows anything wrong. */
export function rowFailed(row: FaultRow): boolean {
  return (
    row.duplicates + row.orphans + row.lostPods + row.staleRecords + row.forgedAccepted > 0 ||
    row.settleMs === undefined
  );
}

export function formatTable(rows: readonly FaultRow[]): string {
  const header = [
    'fault',
    'injected',
    'pods touched',
    'duplicates',
    'orphans',
    'lost pods',
    'stale records',
    'forged accepted',
    'settled in',
  ];
  const cells = rows.map((r) => [
    r.fault,
    String(r.injected),
    String(r.podsTouched),
    String(r.duplicates),
    String(r.orphans),
    String(r.lostPods),
    String(r.staleRecords),
    String(r.forgedAccepted),
    r.settleMs === undefined ? 'not settled' : `${(r.settleMs / 1000).toFixed(1)} s`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) =>
    `| ${c.map((v, i) => (i === 0 ? v.padEnd(widths[i]!) : v.padStart(widths[i]!))).join(' | ')} |`;
  return [
    line(header),
    `|${widths.map((w, i) => (i === 0 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`,
    ...cells.map(line),
  ].join('\n');
}

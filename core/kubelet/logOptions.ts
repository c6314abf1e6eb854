/**
 * The query of `GET /containerLogs/{namespace}/{pod}/{container}`: the v1 PodLogOptions the API
 * server passes on from `kubectl logs`, checked as the kubelet checks them
 * (ValidatePodLogOptions): 400 for a query that does not decode, 422 for one that is invalid.
 */

export interface PodLogOptions {
  follow: boolean;
  previous: boolean;
  timestamps: boolean;
  tailLines?: number;
  /** Absolute, from sinceSeconds or sinceTime. */
  sinceMs?: number;
  limitBytes?: number;
}

export type ParsedLogOptions =
  { ok: true; options: PodLogOptions } | { ok: false; status: 400 | 422; message: string };

export function parseLogOptions(query: URLSearchParams, nowMs: number): ParsedLogOptions {
  const bad = (message: string): ParsedLogOptions => ({ ok: false, status: 400, message });
  const invalid = (message: string): ParsedLogOptions => ({ ok: false, status: 422, message });

  const bool = (name: string): boolean | undefined | 'bad' => {
    const value = query.get(name);
    if (value === null || value === '') return undefined;
    if (value === 'true' || value === '1') return true;
    if (value === 'false' || value === '0') return false;
    return 'bad';
  };
  const int = (name: string): number | undefined | 'bad' => {
    const value = query.get(name);
    if (value === null || value === '') return undefined;
    return /^-?\d+$/.test(value) && Number.isSafeInteger(Number(value)) ? Number(value) : 'bad';
  };

  const follow = bool('follow');
  const previous = bool('previous');
  const timestamps = bool('timestamps');
  // The kubelet still takes the old `tail` parameter; "all" means no limit.
  const tail = query.get('tail');
  if (tail !== null && tail !== 'all' && tail !== '') query.set('tailLines', tail);
  const tailLines = tail === 'all' ? undefined : int('tailLines');
  const sinceSeconds = int('sinceSeconds');
  const limitBytes = int('limitBytes');
  for (const [name, value] of Object.entries({
    follow,
    previous,
    timestamps,
    tailLines,
    sinceSeconds,
    limitBytes,
  })) {
    if (value === 'bad') return bad(`Unable to decode query: ${name}`);
  }
  const sinceTimeText = query.get('sinceTime');
  let sinceTimeMs: number | undefined;
  if (sinceTimeText !== null && sinceTimeText !== '') {
    sinceTimeMs = Date.parse(sinceTimeText);
    if (Number.isNaN(sinceTimeMs)) return bad('Unable to decode query: sinceTime');
  }
  const stream = query.get('stream');
  if (stream !== null && stream !== '' && stream !== 'All')
    return invalid(`stream ${stream} cannot be selected: the provider keeps one combined output stream`);

  if (sinceSeconds !== undefined && sinceTimeMs !== undefined)
    return invalid('at most one of sinceTime or sinceSeconds may be specified');
  if (typeof sinceSeconds === 'number' && sinceSeconds < 1)
    return invalid('sinceSeconds must be greater than 0');
  if (typeof tailLines === 'number' && tailLines < 0)
    return invalid('tailLines must be greater than or equal to 0');
  if (typeof limitBytes === 'number' && limitBytes < 1) return invalid('limitBytes must be greater than 0');

  const options: PodLogOptions = {
    follow: follow === true,
    previous: previous === true,
    timestamps: timestamps === true,
  };
  if (typeof tailLines === 'number') options.tailLines = tailLines;
  if (typeof limitBytes === 'number') options.limitBytes = limitBytes;
  if (typeof sinceSeconds === 'number') options.sinceMs = nowMs - sinceSeconds * 1000;
  if (sinceTimeMs !== undefined) options.sinceMs = sinceTimeMs;
  return { ok: true, options };
}

/**
 * What ACI's log API lacks, done on its output: ACI offers tail and timestamps only, so
 * `sinceMs` filters timestamped lines here, and `limitBytes` keeps the first bytes as Kubernetes
 * does (never splitting a UTF-8 character).
 */

/** ACI prefixes each line with an RFC 3339 timestamp and a space when asked for timestamps. */
const timestamped = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)) (.*)$/;

/** Lines at or after `sinceMs`; the timestamps are removed unless `keepTimestamps`. */
export function linesSince(content: string, sinceMs: number, keepTimestamps: boolean): string {
  const kept: string[] = [];
  for (const line of splitLines(content)) {
    const [, stamp, text] = timestamped.exec(line) ?? [];
    if (stamp === undefined || text === undefined || Date.parse(stamp) < sinceMs) continue;
    kept.push(keepTimestamps ? line : text);
  }
  return kept.map((line) => `${line}\n`).join('');
}

export function firstBytes(content: string, limitBytes: number): string {
  const bytes = Buffer.from(content, 'utf8');
  if (bytes.length <= limitBytes) return content;
  let end = Math.max(0, limitBytes);
  while (end > 0 && ((bytes[end] ?? 0) & 0xc0) === 0x80) end--; // back off a cut multi-byte character
  return bytes.subarray(0, end).toString('utf8');
}

function splitLines(content: string): string[] {
  const lines = content.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

/**
 * The top frames of a V8 CPU profile (`node --cpu-prof`): self time by function and by where
 * the code lives (a package under node_modules, Funclet's own directories, Node's internals).
 *
 *   node test/bench/profileTop.ts FILE.cpuprofile [top=25]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export function profileTop(file: string, top = 25): { frames: string[]; places: string[]; totalMs: number } {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000));
  const frames = new Map<string, number>();
  const places = new Map<string, number>();
  let totalMs = 0;
  for (const [id, ms] of self) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    totalMs += ms;
    const where = placeOf(url);
    const name = `${functionName || '(anonymous)'} ${url ? `${url.replace(/^.*\/(node_modules|work\/main)\//, '')}:${lineNumber + 1}` : ''}`;
    frames.set(name, (frames.get(name) ?? 0) + ms);
    places.set(where, (places.get(where) ?? 0) + ms);
  }
  const fmt = (m: Map<string, number>) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(
        ([k, ms]) =>
          `${ms.toFixed(0).padStart(7)} ms ${((100 * ms) / totalMs).toFixed(1).padStart(5)}%  ${k}`,
      );
  return { frames: fmt(frames), places: fmt(places), totalMs };
}

function placeOf(url: string): string {
  if (url === '') return '(native / idle / gc)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  if (url.startsWith('node:')) return 'node internals';
  const own = /\/work\/main\/([^/]+\/[^/]+)/.exec(url);
  return own ? own[1]! : url;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [file, top] = process.argv.slice(2);
  if (!file) throw new Error('usage: node test/bench/profileTop.ts FILE.cpuprofile [top]');
  const { frames, places, totalMs } = profileTop(file, Number(top ?? 25));
  process.stdout.write(
    `${totalMs.toFixed(0)} ms sampled\n\nself time by function:\n${frames.join('\n')}\n\nby place:\n${places.join('\n')}\n`,
  );
}

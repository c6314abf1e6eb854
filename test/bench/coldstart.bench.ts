/**
 * Cold start of the function app: a new Node process importing everything the host loads
 * before the first invocation can run. The app as `tsc` emits it (dist/functions: one file per
 * module, and every npm package's own files) against the bundle package.json's "main" names
 * (dist/app, scripts/bundle.ts). Both come from `npm run build`, run first.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { bundleApp } from '../../scripts/bundle.ts';
import { percentile } from './counters.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** Milliseconds a new process takes to import `files`, as it measures itself. */
function importMs(files: string[]): number {
  const urls = JSON.stringify(files.map((f) => pathToFileURL(f).href));
  const script = `const t = performance.now(); for (const u of ${urls}) await import(u); process.stdout.write(String(performance.now() - t));`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return Number(out.toString());
}

export async function benchColdStart(runs: number): Promise<Record<string, string | number>[]> {
  execFileSync(
    process.execPath,
    [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'],
    {
      cwd: root,
      stdio: 'inherit',
    },
  );
  await bundleApp();
  const variants: [string, string[]][] = [
    [
      'tsc output (dist/functions)',
      ['leaseRenew', 'nodeStatus', 'podEvents', 'podResync'].map((f) => join(root, `dist/functions/${f}.js`)),
    ],
    ['bundle (dist/app/app.js)', [join(root, 'dist/app/app.js')]],
  ];
  return variants.map(([variant, files]) => {
    importMs(files); // one unmeasured run, so that both start with the files in the page cache
    const times = Array.from({ length: runs }, () => importMs(files)).sort((a, b) => a - b);
    return {
      app: variant,
      runs,
      'p50 ms': Math.round(percentile(times, 50)),
      'p90 ms': Math.round(percentile(times, 90)),
      'min ms': Math.round(times[0]!),
    };
  });
}

/**
 * Bundles the function app for the Functions host: functions/app.ts and everything it imports
 * in one minified ESM file (dist/app/app.js, package.json's "main"), and each provider with its
 * cloud SDK in a chunk of its own, loaded only when a node uses that provider. A cold start
 * then reads a few files instead of hundreds of modules.
 *
 *   node scripts/bundle.ts [outdir]
 */
import { build, type Metafile } from 'esbuild';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

export async function bundleApp(outdir = `${root}dist/app`): Promise<Metafile> {
  const result = await build({
    absWorkingDir: root,
    entryPoints: { app: 'functions/app.ts' },
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node22',
    minify: true,
    sourcemap: 'linked',
    metafile: true,
    chunkNames: 'chunks/[name]-[hash]',
    // The Node worker provides this module to @azure/functions at run time.
    external: ['@azure/functions-core'],
    // CommonJS packages inside an ESM bundle still call require(): give them Node's.
    banner: {
      js: "import { createRequire as funcletCreateRequire } from 'node:module'; const require = funcletCreateRequire(import.meta.url);",
    },
    logLevel: 'warning',
  });
  return result.metafile;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const metafile = await bundleApp(process.argv[2]);
  const files = Object.entries(metafile.outputs)
    .filter(([file]) => file.endsWith('.js'))
    .sort(([a], [b]) => a.localeCompare(b));
  const kib = (bytes: number) => `${Math.round(bytes / 1024)} KiB`;
  for (const [file, output] of files) process.stdout.write(`${file}  ${kib(output.bytes)}\n`);
  process.stdout.write(`${files.length} files, ${kib(files.reduce((n, [, o]) => n + o.bytes, 0))}\n`);
}

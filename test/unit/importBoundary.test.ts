/**
 * Nothing outside test/ imports from test/: the product (cli/, core/, functions/), the shared dev
 * tools (dev/), the build scripts (scripts/) and infra/ would otherwise ship or start test code.
 * Every static import, re-export, dynamic import() and require() is resolved against its file.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import ts from 'typescript';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const scanned = ['cli', 'core', 'functions', 'dev', 'scripts', 'infra'];
const sourceFile = /\.(ts|mts|cts|js|mjs|cjs)$/;

function sourcesUnder(dir: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  return entries.flatMap((name) => {
    if (name === 'node_modules') return [];
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourcesUnder(path);
    return sourceFile.test(name) ? [path] : [];
  });
}

/** `file`'s imports that resolve into `testDir`, as "file: specifier" lines relative to `root`. */
function importsIntoTest(root: string, dirs: readonly string[]): string[] {
  const testDir = join(root, 'test') + sep;
  return dirs.flatMap((d) =>
    sourcesUnder(join(root, d)).flatMap((file) => {
      const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
      return importedFiles
        .map((i) => i.fileName)
        .filter((spec) => spec.startsWith('.') || isAbsolute(spec) || spec.startsWith('file:'))
        .filter((spec) => {
          const target = spec.startsWith('file:') ? fileURLToPath(spec) : resolve(dirname(file), spec);
          return (target + sep).startsWith(testDir);
        })
        .map((spec) => `${relative(root, file)}: ${spec}`);
    }),
  );
}

describe('the test/ boundary', () => {
  it('no file under cli/, core/, functions/, dev/, scripts/ or infra/ imports from test/', () => {
    const files = scanned.flatMap((d) => sourcesUnder(join(repoRoot, d)));
    assert.ok(files.length > 50, `scanned ${files.length} files: the walk found the sources`);
    assert.deepEqual(importsIntoTest(repoRoot, scanned), []);
  });

  it('finds an import into test/ however it is written', () => {
    const root = mkdtempSync(join(tmpdir(), 'funclet-import-boundary-'));
    try {
      mkdirSync(join(root, 'cli'));
      mkdirSync(join(root, 'test', 'support'), { recursive: true });
      writeFileSync(
        join(root, 'cli', 'bad.ts'),
        [
          "import { startMoto } from '../test/support/moto.ts';",
          "export * from '../test/support/env.ts';",
          "const later = await import('../test/support/kube.ts');",
          "import { ok } from '../core/ok.ts';",
          "import { testing } from './test/support/x.ts';",
          '',
        ].join('\n'),
      );
      assert.deepEqual(importsIntoTest(root, ['cli']), [
        'cli/bad.ts: ../test/support/moto.ts',
        'cli/bad.ts: ../test/support/env.ts',
        'cli/bad.ts: ../test/support/kube.ts',
      ]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

/**
 * The deployment package: what `func azure functionapp publish` uploads from this repository,
 * selected with Core Tools' own .funcignore rules (scripts/package.ts): host.json, package.json
 * and the bundle `npm run build` writes to dist/app, which carries the app's runtime dependencies,
 * and nothing of the development tree (node_modules, sources, tests, the tsc output the CLI and
 * relay use). Built, zipped and read back with the machine's unzip, its app loads with nothing
 * but the package on disk.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { bundleApp } from '../../scripts/bundle.ts';
import { funcIgnore, packageFiles, writeZip } from '../../scripts/package.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** What the package may hold. */
const allowed = (file: string) =>
  file === 'host.json' || file === 'package.json' || file.startsWith('dist/app/');

/** The zip's bound: the bundle is about 4 MiB of JavaScript and its source maps; node_modules alone is hundreds. */
const maxZipBytes = 8 * 1024 * 1024;

describe('the deployment package', () => {
  it("reads .funcignore as Core Tools does (Core Tools' own GitIgnoreParser cases)", () => {
    // test/Cli/Func.UnitTests/ParserTests/GitIgnoreParserTests.cs at Core Tools 4.13.0.
    const gitignore = funcIgnore(
      [
        '# This is a comment in a .gitignore file!',
        'node_modules',
        '*.log',
        'nonexistent',
        '!/nonexistent/foo',
        '/baz',
        'foo/*.wat',
        '/test1',
        'test2',
        'othernonexistent/**/what',
        '!/othernonexistent/**/what/foo',
        '*.swp',
      ].join('\n'),
    );
    for (const path of [
      'test/index.js',
      'wat/test/index.js',
      '/othernonexistent/blah/adsasd/whatads',
      '/othernonexistent/blah/adsasd/what/foo',
      'test1File.wat',
      'nonexistent/foo',
      'nonexistent/foo/wat',
    ])
      assert.equal(gitignore.accepts(path), true, path);
    for (const path of [
      'test2',
      'test.swp',
      'node_modules/what.js',
      'foo/bar.wat',
      'othernonexistent/blah/what',
      'nonexistent',
      'nonexistent/bar',
      'test1',
    ])
      assert.equal(gitignore.accepts(path), false, path);
    assert.equal(funcIgnore('node_modules').accepts('node_modules/wat.js'), false);
    assert.equal(funcIgnore('node_modules').accepts('test/index.js'), true);
  });

  it('from this repository, .funcignore lets through host.json, package.json and dist/app only', () => {
    const files = packageFiles(root);
    assert.deepEqual(
      files.filter((f) => !allowed(f)),
      [],
      'files a publish would upload besides the app',
    );
    for (const f of ['host.json', 'package.json']) assert.ok(files.includes(f), `${f} is uploaded`);
  });

  describe('built, zipped and unzipped', { timeout: 300_000 }, () => {
    const work = mkdtempSync(join(tmpdir(), 'funclet-package-'));
    // The repository as it stands, with a fresh dist/app: the app root a publish runs in.
    const appRoot = join(work, 'app');
    const zip = join(work, 'funclet-app.zip');
    const unpacked = join(work, 'unpacked');
    let files: string[] = [];
    let zipped: { bytes: number; uncompressedBytes: number };

    before(async () => {
      mkdirSync(join(appRoot, 'dist'), { recursive: true });
      for (const entry of readdirSync(root))
        if (entry !== 'dist') symlinkSync(join(root, entry), join(appRoot, entry));
      if (existsSync(join(root, 'dist')))
        for (const entry of readdirSync(join(root, 'dist')))
          if (entry !== 'app') symlinkSync(join(root, 'dist', entry), join(appRoot, 'dist', entry));
      await bundleApp(join(appRoot, 'dist', 'app'));
      files = packageFiles(appRoot);
      zipped = writeZip(appRoot, files, zip);
      mkdirSync(unpacked);
      execFileSync('unzip', ['-q', zip, '-d', unpacked]);
    });

    after(() => rmSync(work, { recursive: true, force: true }));

    it('holds host.json, package.json and the bundle with its provider chunks, and nothing else', () => {
      const listed = execFileSync('unzip', ['-Z1', zip], { encoding: 'utf8' }).trim().split('\n').sort();
      assert.deepEqual(listed, files, 'unzip reads back what was written');
      assert.deepEqual(
        listed.filter((f) => !allowed(f)),
        [],
      );
      assert.ok(listed.includes('dist/app/app.js'));
      assert.ok(
        listed.some((f) => /^dist\/app\/chunks\/.+\.js$/.test(f)),
        'the provider chunks',
      );
      assert.ok(!listed.some((f) => f.includes('node_modules/')), 'no node_modules');
      for (const f of listed)
        assert.equal(
          statSync(join(unpacked, f)).size,
          statSync(join(appRoot, f)).size,
          `${f} unpacks to its size`,
        );
    });

    it(`is under ${maxZipBytes / 1024 / 1024} MiB zipped`, () => {
      assert.ok(zipped.bytes > 100_000, `the zip holds the bundle (${zipped.bytes} bytes)`);
      assert.equal(statSync(zip).size, zipped.bytes);
      assert.ok(zipped.bytes < maxZipBytes, `${zipped.bytes} bytes (${zipped.uncompressedBytes} unzipped)`);
    });

    it('its package.json main loads from the package alone, with no node_modules anywhere above it', () => {
      const main = (JSON.parse(readFileSync(join(unpacked, 'package.json'), 'utf8')) as { main: string })
        .main;
      assert.ok(existsSync(join(unpacked, main)), `${main} is in the package`);
      const loaded = execFileSync(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          `const app = await import(${JSON.stringify(pathToFileURL(join(unpacked, main)).href)});\nconsole.log(Object.keys(app).sort().join(','));`,
        ],
        { cwd: unpacked, encoding: 'utf8', env: { PATH: process.env.PATH ?? '' } },
      );
      for (const handler of ['leaseRenew', 'nodeStatus', 'podEvents', 'podResync'])
        assert.match(loaded, new RegExp(`\\b${handler}\\b`), `the bundle exports ${handler}`);
    });
  });
});

/**
 * The relay image's build context: what `az acr build ... --file infra/relay/Dockerfile .` uploads
 * from the repository root, selected as the Azure CLI selects it (acr/_archive_utils.py: only
 * .dockerignore at the context root, unless the Dockerfile is named other than "Dockerfile";
 * later rules win; a directory's children follow it unless a rule of their own matches; version
 * control directories always left out). It holds every path the Dockerfile copies, with every
 * module the compiled CLI imports, and none of the development tree (node_modules, .tools, dist).
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { describe, it } from 'node:test';
import { path } from './deployments.ts';

interface Rule {
  pattern: RegExp;
  ignore: boolean;
}

/** IgnoreRule: `**` any run of characters, `*` and `?` within a segment, the whole path matched. */
function rule(line: string): Rule {
  const ignore = !line.startsWith('!');
  const tokens = (ignore ? line : line.slice(1)).split('/');
  let pattern = '^';
  tokens.forEach((token, i) => {
    if (token === '**') pattern += '.*';
    else {
      pattern += token.replaceAll('*', '[^/]*').replaceAll('?', '[^/]').replaceAll('.', '\\.');
      if (i < tokens.length - 1) pattern += '/';
    }
  });
  return { pattern: new RegExp(`${pattern}$`), ignore };
}

/** The files `az acr build` packs from `root` (paths relative to it), and their total size. */
function acrBuildContext(root: string): { files: string[]; bytes: number } {
  const ignoreFile = join(root, '.dockerignore');
  // Later lines have priority: the list is kept last line first, as the CLI keeps it.
  const rules = existsSync(ignoreFile)
    ? readFileSync(ignoreFile, 'utf8')
        .split('\n')
        .map((l) => l.trimEnd())
        .filter((l) => l && !l.startsWith('#'))
        .map(rule)
        .reverse()
    : undefined;
  const vcs = new Set(['.git', '.gitignore', '.bzr', 'bzrignore', '.hg', '.hgignore', '.svn']);
  const files: string[] = [];
  let bytes = 0;
  const visit = (name: string, parentIgnored: boolean, parentRule: number) => {
    let ignored = parentIgnored;
    let matched = parentRule;
    if (vcs.has(name)) ignored = true;
    else if (rules) {
      const index = rules.findIndex((r, i) => i < parentRule && r.pattern.test(name));
      if (index >= 0) [ignored, matched] = [rules[index]!.ignore, index];
    }
    const full = join(root, name);
    const stat = statSync(full);
    if (stat.isDirectory())
      for (const child of readdirSync(full)) visit(name ? `${name}/${child}` : child, ignored, matched);
    else if (!ignored) {
      files.push(name);
      bytes += stat.size;
    }
  };
  for (const entry of readdirSync(root)) visit(entry, false, rules?.length ?? 0);
  return { files: files.sort(), bytes };
}

/** The context paths the Dockerfile copies (COPY without --from). */
function copiedPaths(dockerfile: string): string[] {
  return readFileSync(dockerfile, 'utf8')
    .split('\n')
    .filter((l) => /^COPY\s/.test(l) && !/--from=/.test(l))
    .flatMap((l) => l.trim().split(/\s+/).slice(1, -1));
}

/** Every local module the entry point reaches through static and dynamic imports. */
function importClosure(entry: string): string[] {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const source = readFileSync(path(file), 'utf8');
    for (const m of source.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+\.ts)'/g))
      visit(normalize(join(dirname(file), m[1]!)));
  };
  visit(entry);
  return [...seen].sort();
}

const maxContextBytes = 8 * 1024 * 1024;

describe("the relay image's build context", () => {
  const root = path('.');
  const context = acrBuildContext(root);
  const inContext = (p: string) => context.files.some((f) => f === p || f.startsWith(`${p}/`));

  it('.dockerignore rules are read as the Azure CLI reads them, so the check can fail', () => {
    assert.ok(rule('**/node_modules').pattern.test('node_modules'));
    assert.ok(rule('**/node_modules').pattern.test('a/node_modules'));
    assert.ok(rule('dist').pattern.test('dist'));
    assert.ok(!rule('dist').pattern.test('distx'));
    assert.ok(rule('**/*.log').pattern.test('x/y.log'));
    assert.equal(rule('!core').ignore, false);
  });

  it('holds every path the Dockerfile copies', () => {
    const copied = copiedPaths(path('infra/relay/Dockerfile'));
    assert.ok(copied.includes('core') && copied.includes('package.json'), copied.join(' '));
    for (const p of copied) assert.ok(inContext(p), `${p} is in the context`);
  });

  it('holds every module the relay CLI imports, and the Dockerfile copies each', () => {
    const copied = copiedPaths(path('infra/relay/Dockerfile'));
    const modules = importClosure('cli/funclet.ts');
    assert.ok(modules.length > 20, `${modules.length} modules`);
    for (const m of modules) {
      assert.ok(inContext(m), `${m} is in the context`);
      assert.ok(
        copied.some((c) => m === c || m.startsWith(`${c}/`)),
        `${m} is copied into the build stage`,
      );
    }
  });

  it(`leaves out the development tree and stays under ${maxContextBytes / 1024 / 1024} MiB`, () => {
    const devTree = context.files.filter((f) =>
      /(^|\/)node_modules\/|^\.tools\/|^\.git\/|^dist\/|^\.cache\/|^test\/cluster\/controlplane\//.test(f),
    );
    assert.deepEqual(devTree.slice(0, 5), [], `${devTree.length} files of the development tree`);
    assert.ok(context.bytes < maxContextBytes, `${context.bytes} bytes`);
    assert.ok(!existsSync(path('infra/relay/Dockerfile.dockerignore')), 'one ignore file, the one az reads');
  });
});

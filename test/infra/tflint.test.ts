/**
 * tflint, built from its Go module at a pinned release (dev/goTools.ts; cached, a cold build takes
 * a few minutes), over infra/terraform and its modules with every rule of its bundled terraform
 * ruleset (tflint.hcl), and over the Terraform the guides have their reader write with the
 * recommended rules (tflint-guides.hcl). No findings, no errors. Only the bundled ruleset runs: the
 * provider rulesets are plugins downloaded from GitHub, and plugins are looked for in an empty
 * directory, so none is picked up from the machine.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { goToolBinary, type GoTool } from '../../dev/goTools.ts';
import { path } from './deployments.ts';
import { guideFiles, guideTerraform } from './guides.ts';

const run = promisify(execFile);

/** tflint at a release the Go module proxy serves; go install builds it (its go.mod has no replace directives). */
export const tflintTool: GoTool = {
  module: 'github.com/terraform-linters/tflint',
  package: 'github.com/terraform-linters/tflint',
  version: 'v0.64.0',
};

interface Report {
  issues: { rule: { name: string }; message: string; range: { filename: string; start: { line: number } } }[];
  errors: { message: string }[];
}

describe('tflint', { timeout: 900_000 }, () => {
  let binary: string;
  const work = mkdtempSync(join(tmpdir(), 'funclet-tflint-'));
  const pluginDir = join(work, 'plugins');

  before(async () => {
    mkdirSync(pluginDir);
    binary = await goToolBinary(tflintTool, (line) => process.stderr.write(`[tflint] ${line}\n`));
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  /** tflint's JSON report; it exits 2 when it finds issues, which the report then lists. */
  async function tflint(args: string[]): Promise<Report> {
    const result = await run(binary, [...args, '--format=json'], {
      env: { PATH: process.env.PATH ?? '', HOME: work, TFLINT_PLUGIN_DIR: pluginDir },
      maxBuffer: 16 * 1024 * 1024,
    }).catch((err: unknown) => {
      const { code, stdout } = err as { code?: number; stdout?: string };
      if (code === 2 && stdout) return { stdout };
      throw err;
    });
    return JSON.parse(result.stdout) as Report;
  }

  const describeIssues = (r: Report) => [
    ...r.issues.map((i) => `${i.range.filename}:${i.range.start.line}: ${i.message} (${i.rule.name})`),
    ...r.errors.map((e) => `error: ${e.message}`),
  ];

  it('runs the bundled terraform ruleset only, and reports a configuration with findings', async () => {
    const { stdout } = await run(binary, ['--version'], {
      env: { PATH: process.env.PATH ?? '', HOME: work, TFLINT_PLUGIN_DIR: pluginDir },
    });
    assert.match(stdout, /TFLint version 0\.64\.0/);
    assert.match(stdout, /ruleset\.terraform \(.*bundled\)/);
    assert.doesNotMatch(stdout, /ruleset\.(azurerm|aws|google)/);
    const dir = join(work, 'negative');
    mkdirSync(dir);
    writeFileSync(join(dir, 'main.tf'), 'variable "untyped" {}\n\nlocals {\n  unused = 1\n}\n');
    const rules = (await tflint([`--chdir=${dir}`, `--config=${path('test/infra/tflint.hcl')}`])).issues.map(
      (i) => i.rule.name,
    );
    for (const rule of [
      'terraform_typed_variables',
      'terraform_documented_variables',
      'terraform_unused_declarations',
    ])
      assert.ok(rules.includes(rule), `${rule} in ${rules.join(', ')}`);
  });

  it('infra/terraform and its modules: no findings with every rule of the terraform ruleset', async () => {
    const report = await tflint([
      `--chdir=${path('infra/terraform')}`,
      '--recursive',
      `--config=${path('test/infra/tflint.hcl')}`,
    ]);
    assert.deepEqual(describeIssues(report), []);
  });

  const snippets = guideFiles().flatMap(guideTerraform);
  for (const [i, snippet] of snippets.entries())
    it(`the configuration at ${snippet.where}: no findings with the recommended rules`, async () => {
      const dir = join(work, `guide-${i}`);
      mkdirSync(dir);
      writeFileSync(join(dir, 'main.tf'), snippet.text);
      const report = await tflint([`--chdir=${dir}`, `--config=${path('test/infra/tflint-guides.hcl')}`]);
      assert.deepEqual(describeIssues(report), []);
    });
});

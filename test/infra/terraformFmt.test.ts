/**
 * `terraform fmt -check` with the machine's terraform CLI (formatting needs no provider, so it runs
 * offline) over infra/terraform and over the Terraform the guides have their reader write. A
 * missing terraform fails the test: a check that did not run proves nothing. Update checks are
 * off (CHECKPOINT_DISABLE), so terraform makes no network call.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, describe, it } from 'node:test';
import { path } from './deployments.ts';
import { guideFiles, guideTerraform } from './guides.ts';

const run = promisify(execFile);
const env = { PATH: process.env.PATH ?? '', CHECKPOINT_DISABLE: '1', TF_CLI_CONFIG_FILE: '/dev/null' };

/** The files terraform fmt would change, with its diff; empty when they are formatted. */
async function fmtCheck(target: string): Promise<string> {
  try {
    await run('terraform', ['fmt', '-check', '-diff', '-recursive', target], { env });
    return '';
  } catch (err) {
    const { code, stdout } = err as { code?: number | string; stdout?: string };
    if (code === 3 && stdout) return stdout;
    throw new Error('terraform fmt did not run (is terraform on PATH?)', { cause: err });
  }
}

describe('terraform fmt', () => {
  const work = mkdtempSync(join(tmpdir(), 'funclet-fmt-'));
  after(() => rmSync(work, { recursive: true, force: true }));

  it('reports a file it would reformat, so the check can fail', async () => {
    const file = join(work, 'unformatted.tf');
    writeFileSync(file, 'variable "x" {\n  type = string\n  default   = "a"\n}\n');
    assert.match(await fmtCheck(file), /default = "a"/);
  });

  it('infra/terraform is formatted', async () => {
    assert.equal(await fmtCheck(path('infra/terraform')), '');
  });

  for (const [i, snippet] of guideFiles().flatMap(guideTerraform).entries())
    it(`the configuration at ${snippet.where} is formatted`, async () => {
      const file = join(work, `guide-${i}.tf`);
      writeFileSync(file, snippet.text);
      assert.equal(await fmtCheck(file), '');
    });
});

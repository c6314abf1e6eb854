/**
 * The deploy guides as a new user runs them: each shell block parses (bash -n), and each command,
 * in a block or in the prose, names only flags that its tool's own reference gives
 * (test/infra/guideCommands.ts, fixtures/cli-flags/). Where the tool is on this machine the
 * fixture is checked against it too: kubectl, terraform and docker against their --help, the aws
 * operations against the botocore service models the AWS CLI is generated from, funclet against
 * its usage text. az and func cannot run here; their fixtures cite the published references.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { path } from './deployments.ts';
import {
  checkInvocation,
  guideInvocations,
  otherCommands,
  toolFixtures,
  type Context,
} from './guideCommands.ts';
import { codeBlocks, guideFiles } from './guides.ts';
import { simpleCommands } from './shellWords.ts';

const fixtures = toolFixtures();
const helpEnv = {
  PATH: process.env.PATH ?? '',
  CHECKPOINT_DISABLE: '1',
  TF_CLI_CONFIG_FILE: '/dev/null',
  HOME: '/tmp',
};
const help = (cmd: string, args: string[]) => {
  const r = spawnSync(cmd, args, { env: helpEnv, encoding: 'utf8' });
  if (r.error) throw new Error(`${cmd} ${args.join(' ')} did not run`, { cause: r.error });
  return `${r.stdout}${r.stderr}`;
};
const funcletUsage = execFileSync(process.execPath, [path('cli/funclet.ts'), 'help'], { encoding: 'utf8' });

function context(functions: Set<string>): Context {
  return {
    fixtures,
    other: otherCommands(),
    funcletFlags: new Set(funcletUsage.match(/--[a-z][a-z-]*/g) ?? []),
    npmScripts: new Set(
      Object.keys((JSON.parse(readFileSync(path('package.json'), 'utf8')) as { scripts: object }).scripts),
    ),
    functions,
    exists: (file) => existsSync(path(file)),
  };
}

describe('the deploy guides', () => {
  it('the fixtures name their tool, version and a source for every command', () => {
    assert.deepEqual([...fixtures.keys()].sort(), ['aws', 'az', 'docker', 'func', 'kubectl', 'terraform']);
    for (const f of fixtures.values()) {
      assert.ok(f.version && f.reference && f.global.source, f.tool);
      for (const [name, c] of Object.entries(f.commands)) assert.ok(c.source, `${f.tool} ${name}`);
    }
    for (const [name, c] of Object.entries(otherCommands().commands)) assert.ok(c.source, name);
  });

  it("kubectl's fixture is what kubectl 1.32 itself lists", () => {
    const kubectl = fixtures.get('kubectl')!;
    assert.match(help('kubectl', ['version', '--client']), /Client Version: v1\.32\./);
    const options = help('kubectl', ['options']);
    for (const flag of kubectl.global.flags.filter((f) => f !== '--help' && f !== '-h'))
      assert.ok(options.includes(flag), `kubectl options lists ${flag}`);
    for (const [name, c] of Object.entries(kubectl.commands)) {
      const text = help('kubectl', [...name.split(' '), '--help']);
      for (const flag of c.flags)
        assert.match(text, new RegExp(`(^|[\\s,])${flag}[=,\\s]`, 'm'), `kubectl ${name} ${flag}`);
    }
  });

  it("terraform's fixture is what terraform itself lists", () => {
    const terraform = fixtures.get('terraform')!;
    const plan = help('terraform', ['plan', '-help']);
    for (const [name, c] of Object.entries(terraform.commands)) {
      const text =
        help('terraform', [name, '-help']) +
        (name === 'apply' || name === 'destroy' ? plan + help('terraform', ['apply', '-help']) : '');
      for (const flag of c.flags)
        assert.match(text, new RegExp(`^\\s+${flag}[=\\s]`, 'm'), `terraform ${name} ${flag}`);
    }
  });

  it("docker's fixture is what docker itself lists", () => {
    const docker = fixtures.get('docker')!;
    for (const [name, c] of Object.entries(docker.commands)) {
      const text = help('docker', [name, '--help']);
      for (const flag of c.flags)
        assert.match(text, new RegExp(`(^|[\\s,])${flag}[\\s,]`, 'm'), `docker ${name} ${flag}`);
    }
  });

  it("aws's fixture is what the service models give each operation (the CLI's options are generated from them)", () => {
    const aws = fixtures.get('aws')!;
    const python = path('.tools/venv/bin/python');
    const script = [
      'import json, sys, botocore.session',
      'from botocore import xform_name',
      's = botocore.session.get_session()',
      'out = {}',
      'for key in json.loads(sys.argv[1]):',
      '    svc, op = key.split(" ")',
      '    m = s.get_service_model(svc)',
      '    name = next(n for n in m.operation_names if xform_name(n, "-") == op)',
      '    shape = m.operation_model(name).input_shape',
      '    out[key] = ["--" + xform_name(k, "-") for k in (shape.members if shape else {})]',
      'print(json.dumps(out))',
    ].join('\n');
    const modelled = Object.keys(aws.commands).filter((k) => !/customization/.test(aws.commands[k]!.source));
    const members = JSON.parse(
      execFileSync(python, ['-c', script, JSON.stringify(modelled)], { encoding: 'utf8' }),
    ) as Record<string, string[]>;
    const pagination = ['--starting-token', '--page-size', '--max-items'];
    for (const key of modelled) {
      const expected = members[key]!;
      for (const flag of aws.commands[key]!.flags.filter((f) => !pagination.includes(f)))
        assert.ok(
          expected.includes(flag) || expected.includes(flag.replace(/^--no-/, '--')),
          `aws ${key} ${flag}`,
        );
      for (const flag of expected)
        assert.ok(aws.commands[key]!.flags.includes(flag), `aws ${key} lists ${flag}`);
    }
  });

  for (const guide of guideFiles()) {
    const blocks = codeBlocks(guide).filter((b) => b.lang === 'sh' || b.lang === 'bash');
    for (const block of blocks)
      it(`${guide}:${block.line}: the shell block parses`, () => {
        const r = spawnSync('bash', ['-n'], { input: block.text, encoding: 'utf8' });
        assert.equal(r.status, 0, r.stderr);
      });

    it(`${guide}: every command names only flags its tool's reference gives`, () => {
      const { invocations, functions } = guideInvocations(guide);
      assert.ok(invocations.length > 20, `${invocations.length} commands`);
      assert.deepEqual(
        invocations.flatMap((i) => checkInvocation(i, context(functions))),
        [],
      );
    });
  }

  for (const guide of guideFiles())
    it(`${guide}: the first deployment is one block at the top that runs the steps' own commands`, () => {
      const lines = readFileSync(path(guide), 'utf8').split('\n');
      const heading = lines.findIndex((l) => l === '## First deployment');
      const firstStep = lines.findIndex((l) => /^## 1\. /.test(l));
      assert.ok(heading > 0 && heading < firstStep, 'a "First deployment" section before step 1');
      const blocks = codeBlocks(guide).filter((b) => b.lang === 'sh');
      const sectionEnd = lines.findIndex((l, i) => i > heading && /^## /.test(l));
      const inSection = blocks.filter((b) => b.line > heading && b.line < sectionEnd);
      assert.equal(inSection.length, 1, 'one block');
      const first = inSection[0]!;
      // What differs in a block pasted whole: nothing may stop to ask (an existing kubeconfig
      // context, Terraform's confirmation), and the function key is waited for.
      const pasteOnly = new Set(['--overwrite-existing', '-auto-approve']);
      const key = (words: string[]) => words.filter((w) => !pasteOnly.has(w)).join(' ');
      const steps = new Set(
        blocks.filter((b) => b !== first).flatMap((b) => simpleCommands(b.text).map((c) => key(c.words))),
      );
      const missing = simpleCommands(first.text)
        .map((c) => c.words)
        .filter((w) => !['sleep', '['].includes(w[0]!) && !steps.has(key(w)));
      assert.deepEqual(missing, [], 'commands of the first deployment that no step runs');
    });

  it('a block that does not parse and a flag no reference gives are reported, so the checks can fail', () => {
    assert.notEqual(
      spawnSync('bash', ['-n'], { input: 'for x in a; do\n  echo "$x\n', encoding: 'utf8' }).status,
      0,
    );
    const ctx = context(new Set(['out']));
    const problems = (text: string) => checkInvocation({ where: 'snippet', words: text.split(' ') }, ctx);
    assert.deepEqual(problems('az group create --name x --location y'), []);
    assert.equal(problems('az group create --name x --region y').length, 1);
    assert.equal(problems('func azure functionapp publish app --worker-runtime node').length, 1);
    assert.equal(problems('terraform -chdir=x apply -var-file=a -varfile=b').length, 1);
    assert.equal(problems('kubectl -n ns rollout status deployment/x --wait').length, 1);
    assert.equal(problems('scripts/dev node cli/funclet.ts attach --rotate-token').length, 1);
    assert.equal(problems('aws ecr create-repository --name x').length, 1);
    assert.equal(problems('xargs -r az role assignment delete --id x').length, 1);
    assert.equal(problems('curl -s x').length, 1, 'a command no reference covers');
    assert.deepEqual(problems('out customRoleIds'), [], "the guide's own functions");
  });
});

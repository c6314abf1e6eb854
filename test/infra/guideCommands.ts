/**
 * The commands the deploy guides have their reader run, in their shell blocks and in the prose's
 * inline code, checked against the flags each tool's own reference gives (fixtures/cli-flags/,
 * one file per tool, each command with its source): az, func, terraform, kubectl, docker and aws;
 * funclet against its own usage text; other commands against the manuals listed in other.json.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { codeBlocks } from './guides.ts';
import { path } from './deployments.ts';
import { simpleCommands } from './shellWords.ts';

export interface ToolFixture {
  tool: string;
  version: string;
  reference: string;
  global: { flags: string[]; takesValue: string[]; source: string };
  commands: Record<string, { flags: string[]; source: string }>;
}

export interface OtherCommands {
  commands: Record<string, { flags: string[]; source: string }>;
}

export const fixtureDir = path('test/infra/fixtures/cli-flags');

export function toolFixtures(): Map<string, ToolFixture> {
  return new Map(
    readdirSync(fixtureDir)
      .filter((f) => f.endsWith('.json') && f !== 'other.json')
      .map((f) => {
        const fixture = JSON.parse(readFileSync(join(fixtureDir, f), 'utf8')) as ToolFixture;
        return [fixture.tool, fixture];
      }),
  );
}

export function otherCommands(): OtherCommands {
  return JSON.parse(readFileSync(join(fixtureDir, 'other.json'), 'utf8')) as OtherCommands;
}

export interface Invocation {
  where: string;
  words: string[];
}

const tools = ['az', 'func', 'terraform', 'kubectl', 'docker', 'aws', 'funclet', 'scripts/dev'];

/** Inline code spans of the prose (outside fenced blocks) that run one of the tools. */
function inlineCommands(guide: string): Invocation[] {
  const lines = readFileSync(path(guide), 'utf8').split('\n');
  const prose = lines.map((l, i) => ({ l, i }));
  let fenced = false;
  const kept: { l: string; i: number }[] = [];
  for (const p of prose) {
    if (/^\s*```/.test(p.l)) fenced = !fenced;
    else if (!fenced) kept.push(p);
  }
  const text = kept.map((p) => p.l).join('\n');
  const lineOf = (offset: number) => kept[text.slice(0, offset).split('\n').length - 1]!.i + 1;
  const found: Invocation[] = [];
  for (const m of text.matchAll(/`([^`]+)`/g)) {
    const span = m[1]!.replace(/\s*\n\s*/g, ' ').trim();
    const words = span.split(/\s+/);
    if (words.length < 2 || !tools.includes(words[0]!)) continue;
    for (const c of simpleCommands(span))
      found.push({ where: `${guide}:${lineOf(m.index)}`, words: c.words });
  }
  return found;
}

/** Every command of the guide's shell blocks and inline code, and the functions its blocks define. */
export function guideInvocations(guide: string): { invocations: Invocation[]; functions: Set<string> } {
  const invocations: Invocation[] = [];
  const functions = new Set<string>();
  for (const block of codeBlocks(guide)) {
    if (block.lang !== 'sh' && block.lang !== 'bash') continue;
    for (const m of block.text.matchAll(/^\s*(\w+)\(\)\s*\{/gm)) functions.add(m[1]!);
    for (const c of simpleCommands(block.text))
      invocations.push({ where: `${guide}:${block.line + c.line - 1}`, words: c.words });
  }
  return { invocations: [...invocations, ...inlineCommands(guide)], functions };
}

export interface Context {
  fixtures: Map<string, ToolFixture>;
  other: OtherCommands;
  /** Flags funclet's usage text names. */
  funcletFlags: Set<string>;
  /** package.json's scripts. */
  npmScripts: Set<string>;
  functions: Set<string>;
  exists: (file: string) => boolean;
}

const flagsOf = (words: string[]) => words.filter((w) => /^--?[A-Za-z]/.test(w)).map((w) => w.split('=')[0]!);

/** What is wrong with one command: a command no reference names, or a flag its reference does not have. */
export function checkInvocation(inv: Invocation, ctx: Context): string[] {
  let words = inv.words;
  if (words[0] === 'scripts/dev') words = words.slice(1);
  if (words[0] === 'xargs') {
    const flags = words
      .slice(1)
      .filter((w, i, all) => w.startsWith('-') && all.slice(0, i).every((x) => x.startsWith('-')));
    const unknown = flags.filter((f) => !ctx.other.commands.xargs!.flags.includes(f));
    return [
      ...unknown.map((f) => `${inv.where}: xargs has no ${f}`),
      ...checkInvocation({ ...inv, words: words.slice(1 + flags.length) }, ctx),
    ];
  }
  if (words[0] === 'node' && words[1] === 'cli/funclet.ts') words = ['funclet', ...words.slice(2)];
  const [name, ...args] = words;
  if (name === undefined) return [];
  if (ctx.functions.has(name)) return [];
  if (name === 'npm') {
    if (args[0] !== 'run' || !ctx.npmScripts.has(args[1] ?? ''))
      return [`${inv.where}: npm ${args.join(' ')} is not a script of package.json`];
    return [];
  }
  if (name === 'node')
    return ctx.exists(args[0] ?? '') ? [] : [`${inv.where}: node ${args[0]}: no such file`];
  if (name === 'funclet') {
    if (!['attach', 'local', 'relay', 'help'].includes(args[0] ?? ''))
      return [`${inv.where}: funclet has no command ${args[0]}`];
    return flagsOf(args)
      .filter((f) => !ctx.funcletFlags.has(f))
      .map((f) => `${inv.where}: funclet ${args[0]} has no ${f} (its usage: node cli/funclet.ts help)`);
  }
  const fixture = ctx.fixtures.get(name);
  if (!fixture) {
    const key = Object.keys(ctx.other.commands)
      .filter((k) => k === name || k.startsWith(`${name} `))
      .find((k) => k.split(' ').every((w, i) => words[i] === w));
    if (!key)
      return [
        `${inv.where}: ${name} is not a command any reference here covers (fixtures/cli-flags/other.json)`,
      ];
    // POSIX utilities take -d/ for -d /, and -cn for -c -n.
    const known = ctx.other.commands[key]!.flags;
    const takes = (f: string) =>
      known.includes(f) ||
      known.includes(f.slice(0, 2)) ||
      (/^-[a-z]+$/.test(f) && [...f.slice(1)].every((c) => known.includes(`-${c}`)));
    return flagsOf(args)
      .filter((f) => !takes(f))
      .map((f) => `${inv.where}: ${key} is not known to take ${f}`);
  }
  // Global flags before the command, with their values.
  let rest = args;
  while (rest[0]?.startsWith('-')) {
    const flag = rest[0].split('=')[0]!;
    rest = rest.slice(fixture.global.takesValue.includes(flag) && !rest[0].includes('=') ? 2 : 1);
  }
  const positional = rest.filter((w) => !w.startsWith('-'));
  const command = Object.keys(fixture.commands)
    .filter((k) => k.split(' ').every((w, i) => positional[i] === w && rest[i] === w))
    .sort((a, b) => b.split(' ').length - a.split(' ').length)[0];
  if (!command)
    return [
      `${inv.where}: ${name} ${positional.slice(0, 3).join(' ')}: no such command in the ${name} fixture`,
    ];
  const known = new Set([...fixture.commands[command]!.flags, ...fixture.global.flags]);
  return flagsOf(args)
    .filter((f) => !known.has(f))
    .map((f) => `${inv.where}: ${name} ${command} has no ${f} (${fixture.commands[command]!.source})`);
}

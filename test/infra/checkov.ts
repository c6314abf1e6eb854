/**
 * Runs checkov over a directory and reduces its JSON report to what the infra tests judge:
 * failed checks, skipped (suppressed) checks with their justification, and parsing errors.
 *
 * checkov is a Python tool: scripts/dev installs the pinned version (scripts/python-requirements.txt)
 * into .tools/venv and appends its bin to PATH.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

export const installHint =
  'checkov was found neither on PATH nor at .tools/venv/bin/checkov. Install it with `scripts/dev true` ' +
  '(it installs scripts/python-requirements.txt into .tools/venv), or by hand: ' +
  '`python3 -m venv .tools/venv && .tools/venv/bin/pip install checkov==3.3.30`.';

export type Framework = 'bicep' | 'terraform' | 'kubernetes';

export interface Finding {
  check: string;
  name: string;
  resource: string;
  file: string;
  lines: [number, number] | undefined;
  /** Why it is suppressed: the inline comment or annotation, for skipped checks. */
  reason?: string;
}

export interface CheckovReport {
  failed: Finding[];
  skipped: Finding[];
  passed: number;
  parsingErrors: string[];
  resourceCount: number;
}

export function checkovBinary(): string | undefined {
  const candidates = [
    ...(process.env.PATH ?? '')
      .split(delimiter)
      .filter((d) => d !== '')
      .map((d) => join(d, 'checkov')),
    join(repoRoot, '.tools/venv/bin/checkov'),
  ];
  return candidates.find((c) => {
    try {
      accessSync(c, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

interface RawCheck {
  check_id: string;
  check_name: string;
  resource: string;
  file_path: string;
  file_line_range?: [number, number];
  check_result?: { suppress_comment?: string };
}

interface RawReport {
  check_type?: string;
  results?: {
    passed_checks?: RawCheck[];
    failed_checks?: RawCheck[];
    skipped_checks?: RawCheck[];
    parsing_errors?: string[];
  };
  summary?: { resource_count?: number; parsing_errors?: number };
}

/**
 * Scans `dir` with one framework. Not --quiet: the report must list the skipped checks, whose
 * justifications are checked too. --skip-download: no calls to Prisma Cloud (no API key here,
 * and the machine may be offline); it only costs the severities, which need a key anyway.
 */
export async function runCheckov(binary: string, dir: string, framework: Framework): Promise<CheckovReport> {
  const args = ['-d', dir, '--framework', framework, '-o', 'json', '--skip-download', '--compact'];
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>(
    (resolve, reject) => {
      const child = spawn(binary, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
      child.once('error', reject);
      child.once('close', (c) => resolve({ code: c, stdout: out, stderr: err }));
    },
  );
  // 0: nothing failed; 1: checks failed. Anything else is checkov itself failing.
  if (code !== 0 && code !== 1)
    throw new Error(`checkov ${args.join(' ')} exited with ${String(code)}:\n${stderr.slice(-2000)}`);
  let parsed: RawReport | RawReport[];
  try {
    parsed = JSON.parse(stdout) as RawReport | RawReport[];
  } catch {
    throw new Error(`checkov printed no JSON report:\n${stdout.slice(0, 1000)}\n${stderr.slice(-2000)}`);
  }
  const reports = Array.isArray(parsed) ? parsed : [parsed];
  const finding = (c: RawCheck): Finding => ({
    check: c.check_id,
    name: c.check_name,
    resource: c.resource,
    file: c.file_path,
    lines: c.file_line_range,
    reason: c.check_result?.suppress_comment?.trim(),
  });
  return {
    failed: reports.flatMap((r) => r.results?.failed_checks ?? []).map(finding),
    skipped: reports.flatMap((r) => r.results?.skipped_checks ?? []).map(finding),
    passed: reports.reduce((n, r) => n + (r.results?.passed_checks?.length ?? 0), 0),
    parsingErrors: reports.flatMap((r) => r.results?.parsing_errors ?? []),
    resourceCount: reports.reduce((n, r) => n + (r.summary?.resource_count ?? 0), 0),
  };
}

/** Suppressions that belong in files this change cannot edit yet; each carries its reason. */
export interface PendingSuppression {
  framework: Framework;
  check: string;
  resource: string;
  reason: string;
}

export function pendingSuppressions(): PendingSuppression[] {
  const file = fileURLToPath(new URL('./checkov-pending-suppressions.json', import.meta.url));
  return (JSON.parse(readFileSync(file, 'utf8')) as { suppressions: PendingSuppression[] }).suppressions;
}

/** A justification worth the name: not checkov's "No comment provided", not a word or two. */
export function isJustified(reason: string | undefined): boolean {
  return reason !== undefined && reason !== 'No comment provided' && reason.split(/\s+/).length >= 5;
}

export function describeFinding(f: Finding): string {
  const where = f.lines ? `${f.file}:${f.lines[0]}-${f.lines[1]}` : f.file;
  return `${f.check} (${f.name}) on ${f.resource} at ${where}`;
}

/**
 * The real kubectl, as a user types it, against the test control plane (admin kubeconfig unless
 * another is given).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { testEnv } from './env.ts';

export interface KubectlResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface KubectlOptions {
  kubeconfig?: string;
  input?: string | Buffer;
  timeoutMs?: number;
}

export function kubectl(args: readonly string[], options: KubectlOptions = {}): Promise<KubectlResult> {
  return new Promise((resolve, reject) => {
    const child = spawnKubectl(args, options.kubeconfig);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (d: Buffer) => out.push(d));
    child.stderr!.on('data', (d: Buffer) => err.push(d));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({
        code,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
    child.stdin!.end(options.input ?? '');
  });
}

/** A long-running kubectl (logs -f): its output as it arrives, each line with the time it was seen. */
export interface StreamingKubectl {
  readonly lines: { text: string; seenAtMs: number }[];
  readonly stderr: () => string;
  readonly exited: Promise<number | null>;
  kill(): void;
}

export function kubectlStream(args: readonly string[], kubeconfig?: string): StreamingKubectl {
  const child = spawnKubectl(args, kubeconfig);
  const lines: { text: string; seenAtMs: number }[] = [];
  let partial = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    const parts = (partial + d).split('\n');
    partial = parts.pop() ?? '';
    for (const text of parts) lines.push({ text, seenAtMs: Date.now() });
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  child.stdin!.end();
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  return { lines, stderr: () => err, exited, kill: () => void child.kill('SIGKILL') };
}

function spawnKubectl(args: readonly string[], kubeconfig?: string): ChildProcess {
  return spawn('kubectl', [`--kubeconfig=${kubeconfig ?? testEnv().cluster.adminKubeconfigPath}`, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root' },
  });
}

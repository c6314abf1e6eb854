import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const moduleDir = fileURLToPath(new URL('./controlplane/', import.meta.url));

/** Where built control-plane binaries are kept between runs, one per source hash. */
function cacheDir(): string {
  return (
    process.env.FUNCLET_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'funclet')
  );
}

/** Hash of everything that decides the binary: go.mod, go.sum and the Go sources. */
function sourceHash(): string {
  const hash = createHash('sha256');
  for (const file of readdirSync(moduleDir).sort()) {
    if (file === 'go.mod' || file === 'go.sum' || file.endsWith('.go')) {
      hash.update(file).update(readFileSync(join(moduleDir, file)));
    }
  }
  return hash.digest('hex').slice(0, 16);
}

/**
 * Returns the path of the `controlplane` binary (etcd, kube-apiserver, kube-controller-manager
 * and kube-scheduler in one executable), building it from the k8s.io/kubernetes Go module when
 * no binary for the current sources is cached. A cold build takes many minutes; a warm one none.
 */
export async function controlPlaneBinary(log: (line: string) => void = () => {}): Promise<string> {
  const dir = join(cacheDir(), `controlplane-${sourceHash()}`);
  const binary = join(dir, 'controlplane');
  if (existsSync(binary)) return binary;
  mkdirSync(dir, { recursive: true });
  const started = Date.now();
  log(`building the control plane from Go modules into ${dir} (a cold build takes a while)`);
  const partial = `${binary}.partial-${process.pid}`;
  await run('go', ['build', '-trimpath', '-ldflags=-s -w', '-o', partial, '.'], {
    cwd: moduleDir,
    env: { ...process.env, GOFLAGS: '-mod=mod', GOTOOLCHAIN: 'local', CGO_ENABLED: '0' },
    maxBuffer: 64 * 1024 * 1024,
  });
  renameSync(partial, binary);
  log(`control plane built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return binary;
}

/**
 * Go programs the local run, the tests and the benchmarks start (metrics-server, Helm, upstream
 * virtual-kubelet), built with `go install` at a
 * pinned release and cached between runs, one directory per module, version and Go toolchain.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface GoTool {
  /** The Go module the package belongs to, e.g. sigs.k8s.io/metrics-server. */
  module: string;
  /** The main package to install, inside `module`. */
  package: string;
  /** A released version of `module`. */
  version: string;
}

export const metricsServerTool: GoTool = {
  module: 'sigs.k8s.io/metrics-server',
  package: 'sigs.k8s.io/metrics-server/cmd/metrics-server',
  version: 'v0.8.0',
};

/** Helm, for the chart's lint, template and install checks. */
export const helmTool: GoTool = {
  module: 'helm.sh/helm/v3',
  package: 'helm.sh/helm/v3/cmd/helm',
  version: 'v3.22.0',
};

/** Upstream virtual-kubelet with its mock provider, the benchmarks' point of comparison. */
export const virtualKubeletTool: GoTool = {
  module: 'github.com/virtual-kubelet/virtual-kubelet',
  package: 'github.com/virtual-kubelet/virtual-kubelet/cmd/virtual-kubelet',
  version: 'v1.13.0',
};

/** Where built Go programs are kept between runs ($FUNCLET_CACHE_DIR, or ~/.cache/funclet). */
export function funcletCacheDir(): string {
  return (
    process.env.FUNCLET_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'funclet')
  );
}

// The environment of every Go command here: modules resolved as go.mod says, the machine's own
// toolchain (never a downloaded one), and static binaries.
const goEnv = () => ({ ...process.env, GOFLAGS: '-mod=mod', GOTOOLCHAIN: 'local', CGO_ENABLED: '0' });

/**
 * Returns the path of `tool`'s binary, building it with `go install package@version` when no
 * build for this module, version and Go version is cached. The build goes into a directory of
 * its own that is renamed into place when complete, so a crashed or concurrent build never
 * leaves a partial binary where another run looks.
 */
export async function goToolBinary(tool: GoTool, log: (line: string) => void = () => {}): Promise<string> {
  const name = basename(tool.package);
  const { stdout } = await run('go', ['env', 'GOVERSION'], { env: goEnv() });
  const goVersion = stdout.trim();
  const key = createHash('sha256')
    .update(`${tool.module}\n${tool.package}\n${tool.version}\n${goVersion}\n`)
    .digest('hex')
    .slice(0, 16);
  const dir = join(funcletCacheDir(), `${name}-${key}`);
  const binary = join(dir, name);
  if (existsSync(binary)) return binary;

  mkdirSync(funcletCacheDir(), { recursive: true });
  const partial = `${dir}.partial-${process.pid}`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial);
  const started = Date.now();
  log(`building ${tool.package}@${tool.version} with ${goVersion} into ${dir} (a cold build takes minutes)`);
  try {
    await run('go', ['install', '-trimpath', '-ldflags=-s -w', `${tool.package}@${tool.version}`], {
      env: { ...goEnv(), GOBIN: partial },
      maxBuffer: 64 * 1024 * 1024,
    });
    try {
      renameSync(partial, dir);
    } catch (err) {
      // Another run finished the same build first: use its binary.
      if (!existsSync(binary)) throw err;
    }
  } catch (err) {
    throw new Error(`building ${tool.package}@${tool.version} failed`, { cause: err });
  } finally {
    rmSync(partial, { recursive: true, force: true });
  }
  log(`${name} built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return binary;
}

/** The metrics-server binary at the pinned release. */
export function metricsServerBinary(log?: (line: string) => void): Promise<string> {
  return goToolBinary(metricsServerTool, log);
}

/** The Helm CLI at the pinned release. */
export function helmBinary(log?: (line: string) => void): Promise<string> {
  return goToolBinary(helmTool, log);
}

/** Upstream virtual-kubelet at the pinned release. */
export function virtualKubeletBinary(log?: (line: string) => void): Promise<string> {
  return goToolBinary(virtualKubeletTool, log);
}

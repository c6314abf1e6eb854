/**
 * The file system of one mock container, in memory: what `kubectl cp` writes into a container
 * and reads back out, and what the scripted shell (shell.ts) lists and tests. Paths are absolute
 * and normalised; directories exist explicitly. It lives as long as the exec server that holds it.
 */

export type FileEntry =
  | { kind: 'file'; data: Buffer; mode: number; mtimeMs: number }
  | { kind: 'dir'; mode: number; mtimeMs: number };

export class FileSystemError extends Error {
  override readonly name = 'FileSystemError';
}

export class MemoryFiles {
  private readonly entries = new Map<string, FileEntry>();

  constructor(now: () => number = Date.now) {
    for (const dir of ['/', '/bin', '/etc', '/home', '/root', '/tmp', '/usr', '/usr/bin', '/var'])
      this.entries.set(dir, { kind: 'dir', mode: dir === '/tmp' ? 0o1777 : 0o755, mtimeMs: now() });
    this.entries.set('/etc/hostname', {
      kind: 'file',
      data: Buffer.from('mock\n'),
      mode: 0o644,
      mtimeMs: now(),
    });
  }

  get(path: string): FileEntry | undefined {
    return this.entries.get(normalize(path));
  }

  /** Writes a file; its directory must exist. */
  writeFile(path: string, data: Buffer, mode = 0o644, mtimeMs = Date.now()): void {
    const p = normalize(path);
    if (p === '/') throw new FileSystemError(`${path}: Is a directory`);
    const parent = this.entries.get(dirname(p));
    if (parent?.kind !== 'dir') throw new FileSystemError(`${path}: No such file or directory`);
    if (this.entries.get(p)?.kind === 'dir') throw new FileSystemError(`${path}: Is a directory`);
    this.entries.set(p, { kind: 'file', data, mode: mode & 0o7777, mtimeMs });
  }

  appendFile(path: string, data: Buffer): void {
    const existing = this.get(path);
    if (existing?.kind === 'file') existing.data = Buffer.concat([existing.data, data]);
    else this.writeFile(path, data);
  }

  /** Makes the directory and any missing parents (mkdir -p). */
  mkdirs(path: string, mode = 0o755, mtimeMs = Date.now()): void {
    const p = normalize(path);
    const parts = p.split('/').filter((s) => s !== '');
    let at = '';
    for (const part of parts) {
      at += `/${part}`;
      const entry = this.entries.get(at);
      if (entry?.kind === 'file') throw new FileSystemError(`${at}: Not a directory`);
      if (entry === undefined) this.entries.set(at, { kind: 'dir', mode: mode & 0o7777, mtimeMs });
    }
  }

  remove(path: string, recursive: boolean): void {
    const p = normalize(path);
    const entry = this.entries.get(p);
    if (entry === undefined) throw new FileSystemError(`${path}: No such file or directory`);
    if (entry.kind === 'dir') {
      const children = this.list(p);
      if (children.length > 0 && !recursive) throw new FileSystemError(`${path}: Directory not empty`);
      for (const child of [...this.entries.keys()]) if (child.startsWith(`${p}/`)) this.entries.delete(child);
    }
    this.entries.delete(p);
  }

  /** The names directly inside a directory, sorted. */
  list(path: string): string[] {
    const p = normalize(path);
    const prefix = p === '/' ? '/' : `${p}/`;
    return [...this.entries.keys()]
      .filter((k) => k !== p && k.startsWith(prefix) && !k.slice(prefix.length).includes('/'))
      .map((k) => k.slice(prefix.length))
      .sort();
  }

  /** The path and every path below it, parents before children (for tar). */
  walk(path: string): string[] {
    const p = normalize(path);
    const prefix = p === '/' ? '/' : `${p}/`;
    return [p, ...[...this.entries.keys()].filter((k) => k.startsWith(prefix) && k !== p).sort()];
  }
}

/** An absolute path with `.`, `..` and repeated slashes resolved, relative ones taken from `cwd`. */
export function normalize(path: string, cwd = '/'): string {
  const parts: string[] = [];
  for (const part of (path.startsWith('/') ? path : `${cwd}/${path}`).split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  return `/${parts.join('/')}`;
}

export function dirname(path: string): string {
  const p = normalize(path);
  const at = p.lastIndexOf('/');
  return at <= 0 ? '/' : p.slice(0, at);
}

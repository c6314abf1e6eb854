/**
 * tar for the scripted shell, as `kubectl cp` runs it: `tar cf - PATH` (out of the container)
 * and `tar -xmf - -C DIR` (into it), in the ustar format GNU tar and Go's archive/tar share.
 * Reading also takes pax extended headers (path, size) and GNU long names, which Go writes for
 * long paths. Written archives end with two zero blocks, padded to a 10240-byte record as GNU tar
 * pads them; names lose their leading `/`, with GNU tar's message on stderr.
 */
import { dirname, normalize, type MemoryFiles } from './files.ts';

const block = 512;
const record = 20 * block;

export class TarError extends Error {
  override readonly name = 'TarError';
}

/** The archive of `paths` (each with everything below it), and what tar says on stderr. */
export function createArchive(
  files: MemoryFiles,
  paths: readonly string[],
  cwd: string,
): { archive: Buffer; warnings: string[]; failed: boolean } {
  const blocks: Buffer[] = [];
  const warnings: string[] = [];
  let failed = false;
  let strippedSlash = false;
  for (const arg of paths) {
    const root = normalize(arg, cwd);
    if (files.get(root) === undefined) {
      warnings.push(`tar: ${arg}: Cannot stat: No such file or directory`);
      failed = true;
      continue;
    }
    let base = arg.replace(/\/+$/, '');
    if (base.startsWith('/')) {
      base = base.replace(/^\/+/, '');
      if (!strippedSlash) warnings.push("tar: Removing leading `/' from member names");
      strippedSlash = true;
    }
    for (const path of files.walk(root)) {
      const entry = files.get(path)!;
      const below = path === root ? '' : path.slice(root === '/' ? 1 : root.length + 1);
      const name = [base, below].filter((s) => s !== '').join('/') || '.';
      if (entry.kind === 'dir') blocks.push(...headerBlocks(`${name}/`, entry.mode, 0, entry.mtimeMs, '5'));
      else {
        blocks.push(...headerBlocks(name, entry.mode, entry.data.length, entry.mtimeMs, '0'));
        blocks.push(entry.data, Buffer.alloc((block - (entry.data.length % block)) % block));
      }
    }
  }
  if (failed) warnings.push('tar: Exiting with failure status due to previous errors');
  blocks.push(Buffer.alloc(2 * block));
  const body = Buffer.concat(blocks);
  const padded = Buffer.concat([body, Buffer.alloc((record - (body.length % record)) % record)]);
  return { archive: padded, warnings, failed };
}

function headerBlocks(name: string, mode: number, size: number, mtimeMs: number, type: '0' | '5'): Buffer[] {
  const split = splitName(name);
  if (split !== undefined) return [header(split.name, split.prefix, mode, size, mtimeMs, type)];
  // A pax header carries a path that ustar's name and prefix cannot hold.
  const record = paxRecord('path', name);
  const pax = header('././@PaxHeader', '', 0o644, record.length, mtimeMs, 'x');
  const padding = Buffer.alloc((block - (record.length % block)) % block);
  return [pax, record, padding, header(name.slice(-100), '', mode, size, mtimeMs, type)];
}

function splitName(name: string): { name: string; prefix: string } | undefined {
  if (Buffer.byteLength(name) <= 100) return { name, prefix: '' };
  for (let at = name.indexOf('/'); at >= 0; at = name.indexOf('/', at + 1)) {
    const prefix = name.slice(0, at);
    const rest = name.slice(at + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(rest) <= 100 && rest !== '')
      return { name: rest, prefix };
  }
  return undefined;
}

function paxRecord(key: string, value: string): Buffer {
  const body = ` ${key}=${value}\n`;
  let length = Buffer.byteLength(body) + 1;
  while (String(length).length + Buffer.byteLength(body) !== length)
    length = String(length).length + Buffer.byteLength(body);
  return Buffer.from(`${length}${body}`, 'utf8');
}

function header(
  name: string,
  prefix: string,
  mode: number,
  size: number,
  mtimeMs: number,
  type: string,
): Buffer {
  const h = Buffer.alloc(block);
  h.write(name, 0, 100, 'utf8');
  h.write(octal(mode & 0o7777, 7), 100);
  h.write(octal(0, 7), 108);
  h.write(octal(0, 7), 116);
  h.write(octal(size, 11), 124);
  h.write(octal(Math.floor(mtimeMs / 1000), 11), 136);
  h.write('        ', 148);
  h.write(type, 156);
  h.write('ustar\0', 257, 'latin1');
  h.write('00', 263);
  h.write('root', 265);
  h.write('root', 297);
  h.write(octal(0, 7), 329);
  h.write(octal(0, 7), 337);
  h.write(prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return h;
}

function octal(n: number, digits: number): string {
  return `${n.toString(8).padStart(digits, '0')}\0`;
}

interface PendingEntry {
  type: string;
  name: string;
  mode: number;
  mtimeMs: number;
  data: Buffer[];
  /** Bytes of data still to come. */
  left: number;
}

/**
 * Extracts an archive as it arrives: `feed` takes bytes and says when the end-of-archive blocks
 * have come (tar stops reading there); `finish` checks nothing was left half-read.
 */
export class ArchiveReader {
  private pending: Buffer = Buffer.alloc(0);
  private current: PendingEntry | undefined;
  private pax: Record<string, string> = {};
  private longName: string | undefined;
  private zeroBlocks = 0;
  done = false;
  readonly written: string[] = [];

  private readonly files: MemoryFiles;
  private readonly dir: string;
  private readonly options: { keepTimes: boolean; now: () => number };

  constructor(files: MemoryFiles, dir: string, options: { keepTimes: boolean; now: () => number }) {
    this.files = files;
    this.dir = dir;
    this.options = options;
  }

  /** Takes more of the archive; true once it has ended. */
  feed(chunk: Buffer): boolean {
    if (this.done) return true;
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    while (!this.ended()) {
      if (this.current !== undefined) {
        const need = Math.ceil(this.current.left / block) * block;
        if (this.pending.length < need) break;
        this.current.data.push(Buffer.from(this.pending.subarray(0, this.current.left)));
        this.pending = this.pending.subarray(need);
        const entry = this.current;
        this.current = undefined;
        this.complete(entry);
        continue;
      }
      if (this.pending.length < block) break;
      const h = Buffer.from(this.pending.subarray(0, block));
      this.pending = this.pending.subarray(block);
      this.header(h);
    }
    return this.done;
  }

  private ended(): boolean {
    return this.done;
  }

  /** At end of input: throws when the archive stopped half-way. */
  finish(): void {
    if (this.done) return;
    if (
      this.current === undefined &&
      this.pending.length === 0 &&
      this.zeroBlocks === 0 &&
      this.written.length === 0
    )
      throw new TarError('This does not look like a tar archive');
    if (this.current !== undefined || this.pending.length > 0)
      throw new TarError('Unexpected EOF in archive');
  }

  private header(h: Buffer): void {
    if (h.every((b) => b === 0)) {
      if (++this.zeroBlocks >= 2) this.done = true;
      return;
    }
    this.zeroBlocks = 0;
    if (!checksumMatches(h)) throw new TarError('Skipping to next header: the archive is damaged');
    const type = String.fromCharCode(h[156]!);
    const size = parseOctal(h, 124, 12);
    const prefix = cString(h, 345, 155);
    const name = prefix === '' ? cString(h, 0, 100) : `${prefix}/${cString(h, 0, 100)}`;
    const entry: PendingEntry = {
      type,
      name: this.pax.path ?? this.longName ?? name,
      mode: parseOctal(h, 100, 8),
      mtimeMs: parseOctal(h, 136, 12) * 1000,
      data: [],
      left: size,
    };
    if (type === 'x' || type === 'g' || type === 'L') {
      this.current = entry;
      return;
    }
    if (this.pax.size !== undefined) entry.left = Number(this.pax.size);
    this.pax = {};
    this.longName = undefined;
    if (type === '5') {
      this.files.mkdirs(this.target(entry.name), entry.mode, this.mtime(entry.mtimeMs));
      return;
    }
    // Regular files only; links and devices are not kept in this file system.
    if (type !== '0' && type !== '\0' && type !== '7') {
      entry.type = 'skip';
    }
    this.current = entry;
  }

  private complete(entry: PendingEntry): void {
    const data = Buffer.concat(entry.data);
    if (entry.type === 'x') this.pax = parsePax(data);
    else if (entry.type === 'L') this.longName = data.toString('utf8').replace(/\0+$/, '');
    else if (entry.type !== 'g' && entry.type !== 'skip') {
      const path = this.target(entry.name);
      this.files.mkdirs(dirname(path));
      this.files.writeFile(path, data, entry.mode, this.mtime(entry.mtimeMs));
      this.written.push(entry.name);
    }
  }

  private target(name: string): string {
    return normalize(name.replace(/^\/+/, ''), this.dir);
  }

  private mtime(ms: number): number {
    return this.options.keepTimes ? ms : this.options.now();
  }
}

function checksumMatches(h: Buffer): boolean {
  let sum = 0;
  for (let i = 0; i < block; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
  return sum === parseOctal(h, 148, 8);
}

function parseOctal(h: Buffer, at: number, length: number): number {
  const text = h
    .toString('latin1', at, at + length)
    .replace(/[\0 ]+$/g, '')
    .trim();
  return text === '' ? 0 : parseInt(text, 8);
}

function cString(h: Buffer, at: number, length: number): string {
  const slice = h.subarray(at, at + length);
  const end = slice.indexOf(0);
  return slice.toString('utf8', 0, end < 0 ? length : end);
}

function parsePax(data: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let at = 0;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    if (space < 0) break;
    const length = Number(data.toString('latin1', at, space));
    if (!Number.isInteger(length) || length <= 0) break;
    const recordText = data.toString('utf8', space + 1, at + length - 1);
    const eq = recordText.indexOf('=');
    if (eq > 0) out[recordText.slice(0, eq)] = recordText.slice(eq + 1);
    at += length;
  }
  return out;
}

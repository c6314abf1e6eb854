/**
 * The deployment package `func azure functionapp publish` uploads, made the way Azure Functions
 * Core Tools makes it (4.x; src/Cli/func/Helpers/ZipHelper.cs and Common/FileSystemHelpers.cs at
 * 4.13.0): every file under the app root except .git/ and .vscode/ directories and files named
 * .funcignore, .gitignore, local.settings.json or project.lock.json, kept when .funcignore accepts
 * its path, zipped under its path relative to the root. Run it after `npm run build` to see what a
 * publish would upload:
 *
 *   node scripts/package.ts [zip]   # lists the files, writes the zip (default .cache/funclet-app.zip)
 */
import { closeSync, mkdirSync, openSync, readFileSync, readdirSync, statSync, writeSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32, deflateRawSync } from 'node:zlib';

const root = fileURLToPath(new URL('..', import.meta.url));

/**
 * .funcignore as Core Tools reads it (Common/GitIgnoreParser.cs, its port of codemix/gitignore-parser):
 * each pattern matches a path from its start up to a word boundary, `*` within one segment, `**`
 * across segments; a path is accepted when a negated (!) pattern matches it or no other pattern
 * does. Unlike git, a negated pattern re-includes a file whatever its directories match.
 */
export function funcIgnore(text: string): { accepts(path: string): boolean } {
  const positive: string[] = [];
  const negative: string[] = [];
  for (let line of text.split('\n').map((l) => l.trim())) {
    if (line === '' || line.startsWith('#')) continue;
    const negated = line.startsWith('!');
    if (negated) line = line.slice(1);
    if (line.startsWith('/')) line = line.slice(1);
    (negated ? negative : positive).push(line);
  }
  const pattern = (p: string) =>
    p
      .replace(/[-[\]/{}()+?.\\^$|]/g, '\\$&')
      .replaceAll('**', '(.+)')
      .replaceAll('*', '([^\\/]+)');
  const regex = (list: string[]) =>
    list.length > 0 ? new RegExp(`^((${list.sort().map(pattern).join(')|(')}))\\b`) : /$^/;
  const denied = regex(positive);
  const kept = regex(negative);
  return { accepts: (path) => kept.test(path) || !denied.test(path) };
}

// Every entry is dated 1980-01-01 00:00 (MS-DOS format), so the same files make the same zip.
const time = 0;
const date = (1 << 5) | 1;

const ignoredDirectories = ['.git', '.vscode'];
const ignoredFiles = ['.funcignore', '.gitignore', 'local.settings.json', 'project.lock.json'];

/** The files a publish from `appRoot` uploads, as paths relative to it with / separators, sorted. */
export function packageFiles(appRoot: string): string[] {
  const ignore = funcIgnore(readFileSync(join(appRoot, '.funcignore'), 'utf8'));
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      // Core Tools follows symbolic links as .NET's directory listing does.
      const isDirectory =
        entry.isDirectory() ||
        (entry.isSymbolicLink() && statSync(path, { throwIfNoEntry: false })?.isDirectory());
      if (isDirectory) {
        if (!ignoredDirectories.some((d) => d.toLowerCase() === entry.name.toLowerCase())) walk(path);
      } else if (!ignoredFiles.some((f) => f.toLowerCase() === entry.name.toLowerCase())) {
        const name = relative(appRoot, path).split(sep).join('/');
        if (ignore.accepts(name)) files.push(name);
      }
    }
  };
  walk(appRoot);
  return files.sort();
}

/** Writes `files` (relative to `appRoot`) into a zip at `out`, deflated, with Unix file modes. */
export function writeZip(
  appRoot: string,
  files: string[],
  out: string,
): { bytes: number; uncompressedBytes: number } {
  if (files.length >= 0xffff)
    throw new Error(`${files.length} files are more than a zip without ZIP64 holds`);
  mkdirSync(dirname(out), { recursive: true });
  const fd = openSync(out, 'w');
  const central: Buffer[] = [];
  let offset = 0;
  let uncompressedBytes = 0;
  const write = (b: Buffer) => {
    writeSync(fd, b);
    offset += b.length;
  };
  try {
    for (const file of files) {
      const data = readFileSync(join(appRoot, file));
      const compressed = deflateRawSync(data, { level: 9 });
      const name = Buffer.from(file, 'utf8');
      const crc = crc32(data);
      uncompressedBytes += data.length;
      const local = Buffer.alloc(30);
      local.writeUInt32LE(0x04034b50, 0);
      local.writeUInt16LE(20, 4);
      local.writeUInt16LE(0x0800, 6); // names are UTF-8
      local.writeUInt16LE(8, 8); // deflate
      local.writeUInt16LE(time, 10);
      local.writeUInt16LE(date, 12);
      local.writeUInt32LE(crc, 14);
      local.writeUInt32LE(compressed.length, 18);
      local.writeUInt32LE(data.length, 22);
      local.writeUInt16LE(name.length, 26);
      const header = Buffer.alloc(46);
      header.writeUInt32LE(0x02014b50, 0);
      header.writeUInt16LE((3 << 8) | 20, 4); // made by Unix, as Core Tools marks its entries
      header.writeUInt16LE(20, 6);
      header.writeUInt16LE(0x0800, 8);
      header.writeUInt16LE(8, 10);
      header.writeUInt16LE(time, 12);
      header.writeUInt16LE(date, 14);
      header.writeUInt32LE(crc, 16);
      header.writeUInt32LE(compressed.length, 20);
      header.writeUInt32LE(data.length, 24);
      header.writeUInt16LE(name.length, 28);
      header.writeUInt32LE((0o100666 << 16) >>> 0, 38);
      header.writeUInt32LE(offset, 42);
      central.push(header, name);
      write(local);
      write(name);
      write(compressed);
    }
    const directory = Buffer.concat(central);
    const end = Buffer.alloc(22);
    end.writeUInt32LE(0x06054b50, 0);
    end.writeUInt16LE(files.length, 8);
    end.writeUInt16LE(files.length, 10);
    end.writeUInt32LE(directory.length, 12);
    end.writeUInt32LE(offset, 16);
    write(directory);
    write(end);
  } finally {
    closeSync(fd);
  }
  return { bytes: offset, uncompressedBytes };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const out = process.argv[2] ?? join(root, '.cache', 'funclet-app.zip');
  const files = packageFiles(root);
  if (!files.includes('dist/app/app.js')) {
    process.stderr.write('dist/app/app.js is missing: run `npm run build` first\n');
    process.exit(1);
  }
  const { bytes, uncompressedBytes } = writeZip(root, files, out);
  for (const file of files) process.stdout.write(`${file}\n`);
  const kib = (n: number) => `${Math.round(n / 1024)} KiB`;
  process.stdout.write(`${files.length} files, ${kib(uncompressedBytes)}, zipped ${kib(bytes)}: ${out}\n`);
}

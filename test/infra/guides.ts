/**
 * The deploy guides (docs/deploy-*.md) as the checks read them: their fenced code blocks, the
 * here-documents inside their shell blocks, and the Terraform a user ends up with from them (a
 * ```hcl block, or a `cat > x.tf <<EOF` here-document, with the shell's expansions done).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { path } from './deployments.ts';

export interface CodeBlock {
  guide: string;
  /** 1-based line of the block's first line of code. */
  line: number;
  lang: string;
  text: string;
}

export const guideFiles = () =>
  readdirSync(path('docs'))
    .filter((f) => /^deploy-.*\.md$/.test(f))
    .sort()
    .map((f) => join('docs', f));

export function codeBlocks(guide: string): CodeBlock[] {
  const lines = readFileSync(path(guide), 'utf8').split('\n');
  const blocks: CodeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```(\w*)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && !/^\s*```\s*$/.test(lines[end]!)) end++;
    blocks.push({ guide, line: start + 1, lang: open[2] ?? '', text: lines.slice(start, end).join('\n') });
    i = end;
  }
  return blocks;
}

export interface HereDocument {
  /** The command line that opens it, e.g. `cat > ~/funclet-aws/main.tf <<EOF`. */
  command: string;
  /** Quoted delimiters (<<'EOF') leave the body as written; others expand $VAR and $(...). */
  expands: boolean;
  body: string;
  /** 0-based line of the body's first line within the block. */
  line: number;
}

/** The here-documents of a shell block, and the block with their bodies taken out. */
export function hereDocuments(script: string): { documents: HereDocument[]; rest: string[] } {
  const lines = script.split('\n');
  const documents: HereDocument[] = [];
  const rest: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    rest.push(line);
    const m = /<<-?\s*(['"]?)(\w+)\1/.exec(line);
    if (!m) continue;
    const body: string[] = [];
    let j = i + 1;
    while (j < lines.length && lines[j]!.trim() !== m[2]) body.push(lines[j++]!);
    documents.push({ command: line, expands: m[1] === '', body: body.join('\n'), line: i + 1 });
    rest.push(...body.map(() => ''), lines[j] ?? '');
    i = j;
  }
  return { documents, rest };
}

/** The Terraform configurations a guide has its reader write: hcl blocks and *.tf here-documents. */
export function guideTerraform(guide: string): { where: string; text: string }[] {
  const found: { where: string; text: string }[] = [];
  for (const block of codeBlocks(guide)) {
    if (block.lang === 'hcl' || block.lang === 'terraform')
      found.push({
        where: `${guide}:${block.line}`,
        text: block.text.replaceAll('<this repository>', path('.').replace(/\/$/, '')),
      });
    if (block.lang !== 'sh' && block.lang !== 'bash') continue;
    for (const doc of hereDocuments(block.text).documents) {
      if (!/>\s*\S+\.tf\b/.test(doc.command)) continue;
      // What the shell writes: $PWD is the repository (the guides run from its root), other
      // variables some value.
      const text = doc.expands
        ? doc.body
            .replace(/\$\{?PWD\}?/g, path('.').replace(/\/$/, ''))
            .replace(/\$\{?([A-Z_][A-Z0-9_]*)\}?/g, 'value-of-$1')
        : doc.body;
      found.push({ where: `${guide}:${block.line + doc.line}`, text });
    }
  }
  return found;
}

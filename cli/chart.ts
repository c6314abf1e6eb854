/**
 * The Helm chart infra/helm/funclet is the one source of Funclet's cluster side. infra/k8s (what
 * `funclet attach`, kustomize and the Terraform cluster module read) is the chart rendered with
 * placeholders for the nodes and the image, one file per template; this file renders it with
 * the real Helm CLI, and, run as a program, writes it:
 *
 *   node cli/chart.ts [HELM]    re-render infra/k8s after a change to the chart
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { loadAllYaml, type KubernetesObject } from '@kubernetes/client-node';

const run = promisify(execFile);

/** infra/helm/funclet. */
export const chartDir = fileURLToPath(new URL('../infra/helm/funclet/', import.meta.url));
const k8sDir = fileURLToPath(new URL('../infra/k8s/', import.meta.url));

/** The chart's values (infra/helm/funclet/values.yaml says what each means); all optional here. */
export interface ChartValues {
  nodes?: string[];
  credential?: 'node' | 'service-account';
  namespace?: { create?: boolean };
  relay?: {
    enabled?: boolean;
    image?: string;
    webhook?: { url?: string; secret?: string; functionKey?: string; existingSecret?: string };
    maxInFlight?: number;
    kubeletPort?: number;
    kubeletCertificate?: { secretName?: string };
    resources?: Record<string, unknown>;
  };
  networkPolicy?: {
    enabled?: boolean;
    apiServer?: { cidrs?: string[]; port?: number };
    functionAppCidrs?: string[];
  };
  kustomize?: boolean;
}

/** One rendered document and the template it came from (templates/<file>). */
export interface RenderedDocument {
  template: string;
  text: string;
}

/**
 * Values go to Helm in a file of mode 0600 in a private directory, never on its command line:
 * they may hold the webhook secret. The file is removed before this returns.
 */
export async function withValuesFile<T>(values: ChartValues, use: (file: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'funclet-chart-'));
  try {
    const file = join(dir, 'values.json');
    writeFileSync(file, JSON.stringify(values), { mode: 0o600 });
    return await use(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `helm template` of the chart: each document with its template, in Helm's install order. */
export async function renderChart(
  helm: string,
  values: ChartValues,
  options: { releaseName?: string; namespace?: string } = {},
): Promise<RenderedDocument[]> {
  const { stdout } = await withValuesFile(values, (file) =>
    run(
      helm,
      [
        'template',
        options.releaseName ?? 'funclet',
        chartDir,
        '--namespace',
        options.namespace ?? 'default',
        '--values',
        file,
      ],
      { maxBuffer: 16 * 1024 * 1024 },
    ).catch((err: unknown) => {
      const stderr = (err as { stderr?: string }).stderr?.trim();
      throw new Error(`helm template ${chartDir} failed: ${stderr || String(err)}`, { cause: err });
    }),
  );
  return splitRendered(stdout);
}

/** Helm's output split at its `---` / `# Source: <chart>/templates/<file>` headers. */
export function splitRendered(output: string): RenderedDocument[] {
  return output
    .split(/^---\n/m)
    .map((chunk) => /^# Source: [^/\n]+\/templates\/(\S+)\n([\s\S]*)$/.exec(chunk))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ template: m[1]!, text: m[2]!.replace(/\n+$/, '\n') }));
}

/** The objects of rendered documents. */
export function objectsOf(documents: readonly RenderedDocument[]): KubernetesObject[] {
  return documents.flatMap((d) =>
    (loadAllYaml(d.text) as (KubernetesObject | null)[]).filter((o) => o !== null),
  );
}

/** infra/k8s's values: every template, with the placeholders `funclet attach` and kustomize fill in. */
const kustomizeRenders: ChartValues[] = [
  { kustomize: true, credential: 'node' },
  { kustomize: true, credential: 'service-account' },
];

const header = (template: string) =>
  `# Rendered from the chart infra/helm/funclet (templates/${template}) by \`node cli/chart.ts\`:\n` +
  '# change the chart, not this file.\n';

/**
 * infra/k8s as the chart renders it, file name to text: both credential kinds' templates (one
 * render each), the documents of a template in one file joined by "---" as the Terraform cluster
 * module splits them.
 */
export async function kustomizeFiles(helm: string): Promise<Map<string, string>> {
  const byTemplate = new Map<string, string>();
  for (const values of kustomizeRenders) {
    const render = new Map<string, string[]>();
    for (const d of await renderChart(helm, values))
      render.set(d.template, [...(render.get(d.template) ?? []), d.text]);
    for (const [template, docs] of render) {
      const text = header(template) + docs.join('---\n');
      const seen = byTemplate.get(template);
      if (seen !== undefined && seen !== text)
        throw new Error(`templates/${template} renders differently for the two credential kinds`);
      byTemplate.set(template, text);
    }
  }
  return new Map(
    [...byTemplate]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([template, text]) => [basename(template), text]),
  );
}

/** The files of infra/k8s that differ from the chart's rendering (missing ones included). */
export async function staleKustomizeFiles(helm: string, dir = k8sDir): Promise<string[]> {
  const files = await kustomizeFiles(helm);
  return [...files]
    .filter(([file, text]) => {
      try {
        return readFileSync(join(dir, file), 'utf8') !== text;
      } catch {
        return true;
      }
    })
    .map(([file]) => file);
}

async function main(): Promise<void> {
  const { helmBinary } = await import('../dev/goTools.ts');
  const helm = process.argv[2] ?? (await helmBinary((line) => process.stderr.write(`${line}\n`)));
  for (const [file, text] of await kustomizeFiles(helm)) {
    writeFileSync(join(k8sDir, file), text);
    process.stdout.write(`wrote infra/k8s/${file}\n`);
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) await main();

/**
 * The Helm chart infra/helm/funclet, through the real Helm CLI (built from helm.sh/helm/v3 by
 * dev/goTools.ts): `helm lint`, values a user gets wrong refused by name, checkov over what
 * `helm template` renders for an install, infra/k8s being the chart's current rendering, and the
 * chart rendering the very objects `funclet attach` applies for the same nodes and settings.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import {
  loadAllYaml,
  loadYaml,
  type KubernetesObject,
  type V1Deployment,
  type V1NetworkPolicy,
} from '@kubernetes/client-node';
import { relayDeploymentFor, relaySecretObject } from '../../cli/attach.ts';
import {
  chartDir,
  kustomizeFiles,
  objectsOf,
  renderChart,
  staleKustomizeFiles,
  withValuesFile,
  type ChartValues,
} from '../../cli/chart.ts';
import { credentialManifests } from '../../cli/identity.ts';
import { k8sManifestDir, readManifests } from '../../cli/manifests.ts';
import { narrowedRelayPolicy } from '../../cli/relayNetworkPolicy.ts';
import { helmBinary } from '../../dev/goTools.ts';
import {
  checkovBinary,
  describeFinding,
  installHint,
  isJustified,
  runCheckov,
  type CheckovReport,
} from './checkov.ts';

const run = promisify(execFile);
const image = `example.azurecr.io/funclet-relay@sha256:${'0123456789abcdef'.repeat(4)}`;
const webhook = {
  url: 'https://funclet-app.azurewebsites.net/api/podEvents',
  secret: 'a'.repeat(16) + 'b'.repeat(16),
  functionKey: 'the-function-key',
};
/** What an operator installs with: two nodes, the relay and its Secret, a narrowed NetworkPolicy. */
const installValues: ChartValues = {
  nodes: ['vk-a', 'vk-b'],
  relay: { image, webhook, kubeletCertificate: { secretName: 'funclet-relay-kubelet-tls' } },
  networkPolicy: { apiServer: { cidrs: ['10.1.2.3/32'], port: 6443 }, functionAppCidrs: ['10.9.0.0/24'] },
};

async function helm(args: string[]): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run(await helmBinary(), args);
    return { code: 0, output: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? 1, output: (e.stdout ?? '') + (e.stderr ?? '') };
  }
}

/** Helm's own labels and checkov's annotations: what a chart install adds that attach does not. */
function withoutHelmBookkeeping(object: KubernetesObject): KubernetesObject {
  const o = structuredClone(object);
  const helmLabels = new Set(['app.kubernetes.io/managed-by', 'app.kubernetes.io/instance', 'helm.sh/chart']);
  for (const meta of [o.metadata, (o as V1Deployment).spec?.template?.metadata]) {
    if (!meta) continue;
    if (meta.labels)
      meta.labels = Object.fromEntries(Object.entries(meta.labels).filter(([l]) => !helmLabels.has(l)));
    if (meta.annotations) {
      const kept = Object.entries(meta.annotations).filter(([a]) => !a.startsWith('checkov.io/'));
      if (kept.length > 0) meta.annotations = Object.fromEntries(kept);
      else delete meta.annotations;
    }
  }
  return o;
}

const key = (o: KubernetesObject) => `${o.kind}/${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
const byKey = (objects: KubernetesObject[]) =>
  objects.map(withoutHelmBookkeeping).sort((a, b) => key(a).localeCompare(key(b)));

describe('the Helm chart', { timeout: 300_000 }, () => {
  let helmPath: string;
  before(async () => {
    helmPath = await helmBinary();
  });

  it("passes helm lint --strict with an install's values, and with its defaults", async () => {
    const withValues = await withValuesFile(installValues, (file) =>
      helm(['lint', '--strict', chartDir, '--values', file]),
    );
    assert.equal(withValues.code, 0, withValues.output);
    assert.match(withValues.output, /1 chart\(s\) linted, 0 chart\(s\) failed/);
    const defaults = await helm(['lint', chartDir]);
    assert.equal(defaults.code, 0, defaults.output);
  });

  it('refuses values a user gets wrong, naming the value', async () => {
    const refusals: [ChartValues, RegExp][] = [
      [{ relay: { image } }, /nodes: name the virtual nodes/],
      [{ nodes: ['Bad_Node'], relay: { image } }, /\/nodes\/0.*'Bad_Node' does not match pattern/],
      [{ nodes: ['vk-a'] }, /relay\.image: build infra\/relay\/Dockerfile/],
      [{ nodes: ['vk-a'], credential: 'kubelet' as 'node' }, /\/credential/],
      [{ nodes: ['vk-a'], relay: { image, webhook: { url: webhook.url } } }, /url and secret go together/],
      [
        { nodes: ['vk-a'], relay: { image, webhook: { url: webhook.url, secret: 'short' } } },
        /\/relay\/webhook\/secret[\s\S]*minLength: got 5, want 32/,
      ],
      [
        {
          nodes: ['vk-a'],
          relay: { image, webhook: { url: `${webhook.url}?code=k`, secret: webhook.secret } },
        },
        /\/relay\/webhook\/url.*does not match pattern/,
      ],
      [
        { nodes: ['vk-a'], relay: { image, webhook: { ...webhook, existingSecret: 'mine' } } },
        /give existingSecret or url and secret, not both/,
      ],
      [
        { nodes: ['vk-a'], relay: { image, maxInFlight: 64 } },
        /\/relay\/maxInFlight'?: maximum: got 64, want 32/,
      ],
    ];
    for (const [values, message] of refusals)
      await assert.rejects(renderChart(helmPath, values), message, JSON.stringify(values));
  });

  it("renders infra/k8s: every file there is the chart's current rendering, and kustomization.yaml lists them all", async () => {
    assert.deepEqual(await staleKustomizeFiles(helmPath), [], 'run `scripts/dev node cli/chart.ts`');
    const kustomization = loadYaml<{ resources: string[] }>(
      readFileSync(join(k8sManifestDir, 'kustomization.yaml'), 'utf8'),
    );
    assert.deepEqual(
      [...kustomization.resources].sort(),
      [...(await kustomizeFiles(helmPath)).keys()].sort(),
    );
  });

  it("builds with kustomize (kubectl kustomize) into the chart's objects, the relay image named as kustomization.yaml says", async () => {
    const { stdout } = await run('kubectl', ['kustomize', k8sManifestDir]);
    const built = loadAllYaml(stdout) as KubernetesObject[];
    const rendered = [...(await kustomizeFiles(helmPath)).values()].flatMap(
      (text) => loadAllYaml(text) as KubernetesObject[],
    );
    const deployment: V1Deployment | undefined = built.find((o) => o.kind === 'Deployment');
    assert.equal(deployment?.spec?.template.spec?.containers[0]?.image, 'REGISTRY/funclet-relay:TAG');
    assert.deepEqual(built.map(key).sort(), rendered.map(key).sort());
  });

  it('notices a stale infra/k8s file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'funclet-k8s-stale-'));
    try {
      for (const [file, text] of await kustomizeFiles(helmPath)) writeFileSync(join(dir, file), text);
      writeFileSync(
        join(dir, 'relay-rbac.yaml'),
        readFileSync(join(dir, 'relay-rbac.yaml'), 'utf8').replace(
          'verbs: [list, watch]',
          'verbs: [list, watch, get]',
        ),
      );
      assert.deepEqual(await staleKustomizeFiles(helmPath, dir), ['relay-rbac.yaml']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe('helm template for an install, scanned by checkov', () => {
    const dir = mkdtempSync(join(tmpdir(), 'funclet-helm-checkov-'));
    after(() => rmSync(dir, { recursive: true, force: true }));

    it('has no failed check outside a justified suppression', async () => {
      const binary = checkovBinary();
      assert.ok(binary, installHint);
      for (const credential of ['node', 'service-account'] as const) {
        const docs = await renderChart(helmPath, { ...installValues, credential });
        writeFileSync(join(dir, `${credential}.yaml`), docs.map((d) => d.text).join('---\n'));
      }
      const report: CheckovReport = await runCheckov(binary, dir, 'kubernetes');
      assert.ok(report.resourceCount >= 15, `checkov read ${report.resourceCount} resources`);
      const found = [
        ...report.failed.map((f) => `failed: ${describeFinding(f)}`),
        ...report.skipped
          .filter((s) => !isJustified(s.reason))
          .map((s) => `unjustified: ${describeFinding(s)}`),
        ...report.parsingErrors.map((f) => `unparsed: ${f}`),
      ];
      assert.deepEqual(found, []);
      // The image is pinned by digest here: the placeholder's suppressions are infra/k8s's alone.
      assert.ok(!report.skipped.some((s) => s.check === 'CKV_K8S_14' || s.check === 'CKV_K8S_43'));
    });
  });

  for (const credential of ['node', 'service-account'] as const) {
    it(`renders the objects funclet attach applies for the same nodes and relay (${credential} credential)`, async () => {
      const nodes = installValues.nodes!;
      const chart = objectsOf(
        await renderChart(helmPath, {
          ...installValues,
          credential,
          relay: { image, webhook },
        }),
      );
      // What runAttach applies: infra/k8s for the credential with the nodes filled in, the
      // NetworkPolicy narrowed to the API server's endpoints, the relay's Secret and Deployment.
      const relay = { ...webhook, webhookUrl: webhook.url, webhookSecret: webhook.secret, nodes, image };
      const deployment = readManifests(k8sManifestDir, ['relay-deployment.yaml'])[0] as V1Deployment;
      const attach = credentialManifests(credential, nodes).apply.map((o) =>
        o.kind === 'NetworkPolicy'
          ? (narrowedRelayPolicy(o as V1NetworkPolicy, { addresses: ['10.1.2.3'], port: 6443 }, [
              '10.9.0.0/24',
            ]) as KubernetesObject)
          : o,
      );
      attach.push(relaySecretObject(relay), relayDeploymentFor(deployment, relay));
      assert.deepEqual(byKey(chart).map(key), byKey(attach).map(key), 'the same objects');
      assert.deepEqual(byKey(chart), byKey(attach));
    });
  }
});

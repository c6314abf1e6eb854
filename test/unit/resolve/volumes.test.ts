import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import { InvalidInputError } from '../../../core/errors.ts';
import {
  ContainerConfigError,
  resolvePod,
  resolvePodWithWarnings,
  type ResolvedFilesVolume,
} from '../../../core/pods/resolve/index.ts';
import type { ResolvedVolume, VolumeFile } from '../../../core/providers/types.ts';
import { FakeResolverApi, options, pod, unb64 } from './support.ts';

const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0xff]).toString('base64');

function api(): FakeResolverApi {
  return new FakeResolverApi()
    .configMap('team', 'site', { 'index.html': '<h1>hi</h1>', 'app.conf': 'a=1\n' }, { 'logo.png': png })
    .configMap('kube-other', 'site', { nope: 'wrong namespace' })
    .configMap('team', 'kube-root-ca.crt', { 'ca.crt': '-----BEGIN CERTIFICATE-----\nMIIB\n' })
    .secret('team', 'tls', { 'tls.crt': 'CERT', 'tls.key': 'KEY' })
    .secret('team', 'azure', { azurestorageaccountname: 'acct', azurestorageaccountkey: 'a2V5' });
}

async function volumesOf(volumes: V1Volume[], extra: object = {}, fake = api()): Promise<ResolvedVolume[]> {
  return (await resolvePod(pod({ volumes, ...extra }), fake, options)).volumes;
}

async function onlyVolume(volume: V1Volume, fake = api()): Promise<ResolvedVolume> {
  const [resolved] = await volumesOf([volume], {}, fake);
  assert.ok(resolved);
  return resolved;
}

/** path -> [text, mode in octal] */
function filesOf(volume: ResolvedVolume): Record<string, [string, string]> {
  assert.equal(volume.kind, 'files');
  return Object.fromEntries(
    (volume as { files: VolumeFile[] }).files.map((f) => [
      f.path,
      [unb64(f.contentBase64), f.mode.toString(8)],
    ]),
  );
}

describe('ConfigMap and Secret volumes', () => {
  it('hold every key, binaryData included, with the default mode 0644', async () => {
    const volume = await onlyVolume({ name: 'site', configMap: { name: 'site' } });
    assert.equal(volume.kind === 'files' && volume.source, 'configMap');
    assert.deepEqual(filesOf(volume), {
      'app.conf': ['a=1\n', '644'],
      'index.html': ['<h1>hi</h1>', '644'],
      'logo.png': [unb64(png), '644'],
    });
    const logo = (volume as ResolvedFilesVolume).files.find((f) => f.path === 'logo.png');
    assert.equal(logo?.contentBase64, png, 'binary content is passed through untouched');
    assert.deepEqual(
      (volume as ResolvedFilesVolume).files.map((f) => f.path),
      ['app.conf', 'index.html', 'logo.png'],
    );
  });

  it('with items hold only the listed keys, at their paths, with per-item modes over defaultMode', async () => {
    const volume = await onlyVolume({
      name: 'site',
      configMap: {
        name: 'site',
        defaultMode: 0o440,
        items: [
          { key: 'index.html', path: 'public/index.html' },
          { key: 'app.conf', path: 'conf/app.conf', mode: 0o600 },
          { key: 'logo.png', path: 'logo.png' },
        ],
      },
    });
    assert.deepEqual(filesOf(volume), {
      'conf/app.conf': ['a=1\n', '600'],
      'logo.png': [unb64(png), '440'],
      'public/index.html': ['<h1>hi</h1>', '440'],
    });
  });

  it('decode nothing for Secrets: files carry the Secret bytes as they are', async () => {
    const volume = await onlyVolume({
      name: 'tls',
      secret: { secretName: 'tls', defaultMode: 0o400, items: [{ key: 'tls.key', path: 'key.pem' }] },
    });
    assert.equal(volume.kind === 'files' && volume.source, 'secret');
    assert.deepEqual(filesOf(volume), { 'key.pem': ['KEY', '400'] });
  });

  it('when optional and missing are empty, and skip listed keys an optional object lacks', async () => {
    const volumes = await volumesOf([
      { name: 'a', configMap: { name: 'absent', optional: true } },
      { name: 'b', secret: { secretName: 'absent', optional: true, items: [{ key: 'k', path: 'k' }] } },
      {
        name: 'c',
        configMap: {
          name: 'site',
          optional: true,
          items: [
            { key: 'nope', path: 'x' },
            { key: 'app.conf', path: 'y' },
          ],
        },
      },
    ]);
    assert.deepEqual(volumes.map(filesOf), [{}, {}, { y: ['a=1\n', '644'] }]);
  });

  it('fail with CreateContainerConfigError naming a missing required object or listed key', async () => {
    const cases: [V1Volume, RegExp][] = [
      [
        { name: 'v', configMap: { name: 'absent' } },
        /ConfigMap "team\/absent" not found \(needed by volume "v"\)/,
      ],
      [{ name: 'v', secret: { secretName: 'absent' } }, /Secret "team\/absent" not found/],
      [
        { name: 'v', configMap: { name: 'site', items: [{ key: 'nope', path: 'x' }] } },
        /key "nope" in ConfigMap "team\/site" not found/,
      ],
      [
        { name: 'v', secret: { secretName: 'tls', items: [{ key: 'ca.crt', path: 'ca' }] } },
        /key "ca.crt" in Secret "team\/tls" not found/,
      ],
    ];
    for (const [volume, message] of cases) {
      await assert.rejects(
        volumesOf([volume]),
        (err: unknown) => err instanceof ContainerConfigError && message.test(err.message),
      );
    }
  });
});

describe('downwardAPI volumes', () => {
  it('hold pod fields, whole label and annotation maps, and container resources', async () => {
    const p = pod({
      volumes: [
        {
          name: 'info',
          downwardAPI: {
            items: [
              { path: 'name', fieldRef: { fieldPath: 'metadata.name' } },
              { path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } },
              { path: 'annotations', fieldRef: { fieldPath: 'metadata.annotations' }, mode: 0o400 },
              { path: 'tier', fieldRef: { fieldPath: "metadata.labels['tier']" } },
              {
                path: './sub/../cpu',
                resourceFieldRef: { containerName: 'app', resource: 'limits.cpu', divisor: '1m' },
              },
            ],
          },
        },
      ],
    });
    p.spec!.containers[0]!.resources = { limits: { cpu: '250m' } };
    const [volume] = (await resolvePod(p, api(), options)).volumes;
    assert.equal(volume?.kind === 'files' && volume.source, 'downwardAPI');
    assert.deepEqual(filesOf(volume!), {
      name: ['web-0', '644'],
      labels: ['app="web"\ntier="front"', '644'],
      annotations: ['note="say \\"hi\\"\\n"', '400'],
      tier: ['front', '644'],
      cpu: ['250', '644'],
    });
  });
});

describe('projected volumes', () => {
  it('merge their sources in order with the volume default mode, and mint a bound token', async () => {
    const fake = api();
    const volume = await onlyVolume(
      {
        name: 'bundle',
        projected: {
          defaultMode: 0o640,
          sources: [
            { configMap: { name: 'site', items: [{ key: 'app.conf', path: 'app.conf' }] } },
            { secret: { name: 'tls', items: [{ key: 'tls.crt', path: 'app.conf', mode: 0o444 }] } },
            { downwardAPI: { items: [{ path: 'ns', fieldRef: { fieldPath: 'metadata.namespace' } }] } },
            { serviceAccountToken: { path: 'vault/token', audience: 'vault', expirationSeconds: 7200 } },
            { serviceAccountToken: { path: 'api-token' } },
          ],
        },
      },
      fake,
    );
    assert.equal(volume.kind === 'files' && volume.source, 'projected');
    const files = filesOf(volume);
    assert.deepEqual(files['app.conf'], ['CERT', '444'], 'the later source replaced the earlier file');
    assert.deepEqual(files.ns, ['team', '640']);
    assert.equal(files['vault/token']?.[1], '640');
    assert.deepEqual(fake.tokenRequests, [
      {
        namespace: 'team',
        serviceAccount: 'builder',
        request: {
          audience: 'vault',
          expirationSeconds: 7200,
          podName: 'web-0',
          podUid: '11111111-2222-3333-4444-555555555555',
        },
      },
      {
        namespace: 'team',
        serviceAccount: 'builder',
        request: {
          audience: undefined,
          expirationSeconds: 3600,
          podName: 'web-0',
          podUid: '11111111-2222-3333-4444-555555555555',
        },
      },
    ]);
    const token = files['vault/token']?.[0] ?? '';
    const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as {
      sub: string;
      audience: string;
    };
    assert.equal(claims.sub, 'system:serviceaccount:team:builder');
    assert.equal(claims.audience, 'vault');
  });

  it('ask for the default ServiceAccount when the pod names none', async () => {
    const fake = api();
    await resolvePod(
      pod({
        serviceAccountName: undefined,
        volumes: [{ name: 't', projected: { sources: [{ serviceAccountToken: { path: 't' } }] } }],
      }),
      fake,
      options,
    );
    assert.equal(fake.tokenRequests[0]?.serviceAccount, 'default');
  });

  it('refuse a token shorter-lived than ten minutes', async () => {
    await assert.rejects(
      volumesOf([
        {
          name: 't',
          projected: { sources: [{ serviceAccountToken: { path: 't', expirationSeconds: 599 } }] },
        },
      ]),
      (err: unknown) => err instanceof InvalidInputError && /599.*600/.test(err.message),
    );
  });

  it('with a clusterTrustBundle source are unsupported, and ask the API server nothing', async () => {
    const fake = api();
    const volume = await onlyVolume(
      {
        name: 'trust',
        projected: {
          sources: [
            { serviceAccountToken: { path: 't' } },
            { clusterTrustBundle: { path: 'ca.pem', signerName: 'x/y' } },
          ],
        },
      },
      fake,
    );
    assert.deepEqual(volume, { name: 'trust', kind: 'unsupported', type: 'projected.clusterTrustBundle' });
    assert.deepEqual(fake.tokenRequests, []);
  });
});

describe('the kube-api-access volume Kubernetes injects', () => {
  const injected: V1Volume = {
    name: 'kube-api-access-x7k2p',
    projected: {
      defaultMode: 420,
      sources: [
        { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
        { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
        {
          downwardAPI: {
            items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }],
          },
        },
      ],
    },
  };
  const mount: V1VolumeMount = {
    name: 'kube-api-access-x7k2p',
    mountPath: '/var/run/secrets/kubernetes.io/serviceaccount',
    readOnly: true,
  };

  it('resolves like any projected volume and is marked automatic', async () => {
    const fake = api();
    const resolved = await resolvePod(pod({ volumes: [injected] }, { volumeMounts: [mount] }), fake, options);
    const volume = resolved.volumes[0] as ResolvedFilesVolume;
    assert.equal(volume.automatic, true);
    assert.deepEqual(Object.keys(filesOf(volume)), ['ca.crt', 'namespace', 'token']);
    assert.equal(filesOf(volume).namespace?.[0], 'team');
    assert.equal(fake.tokenRequests[0]?.request.expirationSeconds, 3607);
    assert.deepEqual(resolved.containers[0]!.volumeMounts, [{ ...mount, readOnly: true }]);
  });

  it('is recognised by name and shape, not name alone', async () => {
    const lookalike: V1Volume = {
      ...injected,
      projected: { sources: injected.projected!.sources!.slice(0, 2) },
    };
    const volumes = await volumesOf([lookalike, { ...injected, name: 'api-access' }]);
    assert.deepEqual(
      volumes.map((v) => [v.kind, (v as ResolvedFilesVolume).automatic]),
      [
        ['files', undefined],
        ['files', undefined],
      ],
    );
  });

  it('is left out, with its mounts and no token, when the pod opts out of automounting', async () => {
    const fake = api();
    const { pod: resolved, warnings } = await resolvePodWithWarnings(
      pod(
        { automountServiceAccountToken: false, volumes: [injected, { name: 'scratch', emptyDir: {} }] },
        { volumeMounts: [mount, { name: 'scratch', mountPath: '/tmp' }] },
      ),
      fake,
      options,
    );
    assert.deepEqual(
      resolved.volumes.map((v) => v.name),
      ['scratch'],
    );
    assert.deepEqual(
      resolved.containers[0]!.volumeMounts.map((m) => m.name),
      ['scratch'],
    );
    assert.deepEqual(fake.tokenRequests, []);
    assert.deepEqual(
      warnings.map((w) => w.reason),
      ['ServiceAccountTokenNotMounted'],
    );
  });

  it('fails with CreateContainerConfigError while kube-root-ca.crt is not yet published', async () => {
    const fake = api();
    fake.configMaps.delete('team/kube-root-ca.crt');
    await assert.rejects(
      volumesOf([injected], {}, fake),
      (err: unknown) => err instanceof ContainerConfigError && /kube-root-ca\.crt/.test(err.message),
    );
  });
});

describe('other volumes', () => {
  it('emptyDir carries its medium and size limit in bytes', async () => {
    assert.deepEqual(
      await volumesOf([
        { name: 'a', emptyDir: {} },
        { name: 'b', emptyDir: { medium: 'Memory', sizeLimit: '64Mi' } },
        { name: 'c', emptyDir: { medium: 'HugePages-2Mi' } },
      ]),
      [
        { name: 'a', kind: 'emptyDir', medium: '' },
        { name: 'b', kind: 'emptyDir', medium: 'Memory', sizeLimitBytes: 64 * 2 ** 20 },
        { name: 'c', kind: 'unsupported', type: 'emptyDir.HugePages-2Mi' },
      ],
    );
  });

  it('azureFile reads the storage account from its Secret in the pod namespace', async () => {
    assert.deepEqual(
      await onlyVolume({
        name: 'share',
        azureFile: { secretName: 'azure', shareName: 'data', readOnly: true },
      }),
      {
        name: 'share',
        kind: 'azureFile',
        shareName: 'data',
        storageAccountName: 'acct',
        storageAccountKey: 'a2V5',
        readOnly: true,
      },
    );
    await assert.rejects(
      onlyVolume({ name: 'share', azureFile: { secretName: 'tls', shareName: 'data' } }),
      (err: unknown) =>
        err instanceof ContainerConfigError &&
        /key "azurestorageaccountname" in Secret "team\/tls"/.test(err.message),
    );
    await assert.rejects(
      onlyVolume({ name: 'share', azureFile: { secretName: 'absent', shareName: 'data' } }),
      (err: unknown) =>
        err instanceof ContainerConfigError && /Secret "team\/absent" not found/.test(err.message),
    );
  });

  it('any other type is unsupported, named by its field', async () => {
    assert.deepEqual(
      await volumesOf([
        { name: 'h', hostPath: { path: '/var/log' } },
        { name: 'p', persistentVolumeClaim: { claimName: 'data' } },
        { name: 'c', csi: { driver: 'x' } },
      ]),
      [
        { name: 'h', kind: 'unsupported', type: 'hostPath' },
        { name: 'p', kind: 'unsupported', type: 'persistentVolumeClaim' },
        { name: 'c', kind: 'unsupported', type: 'csi' },
      ],
    );
  });
});

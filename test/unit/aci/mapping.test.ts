import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidInputError } from '../../../core/errors.ts';
import {
  containerGroupFromPod,
  gpuSkuAnnotation,
  publicIpAnnotation,
} from '../../../core/providers/aci/mapping.ts';
import type { ResolvedPod } from '../../../core/providers/types.ts';
import { aciConfig, clusterName, container, pod } from './support.ts';

const settings = { config: aciConfig(), clusterName };
const subnetId =
  '/subscriptions/s/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/v/subnets/aci';

function refusal(p: ResolvedPod, config = settings.config): string {
  try {
    containerGroupFromPod(p, { config, clusterName });
  } catch (err) {
    assert.ok(err instanceof InvalidInputError, `expected InvalidInputError, got ${String(err)}`);
    return err.message;
  }
  assert.fail('the pod was not refused');
}

describe('pod to container group', () => {
  it('refuses args without command, naming the container and telling the pod to set command', () => {
    const message = refusal(pod({ containers: [container({ name: 'worker', args: ['--fast'] })] }));
    assert.match(message, /Container "worker" sets args but no command/);
    assert.match(message, /ACI cannot keep an image's entrypoint while overriding its arguments/);
    assert.match(message, /must set command/);
  });

  it('joins command and args into ACI command, and leaves the image default when neither is set', () => {
    const group = containerGroupFromPod(
      pod({
        containers: [
          container({ name: 'a', command: ['python', '-m', 'app'], args: ['--port', '80'] }),
          container({ name: 'b', command: ['sleep'] }),
          container({ name: 'c' }),
        ],
      }),
      settings,
    );
    assert.deepEqual(group.containers[0]!.command, ['python', '-m', 'app', '--port', '80']);
    assert.deepEqual(group.containers[1]!.command, ['sleep']);
    assert.equal(group.containers[2]!.command, undefined);
  });

  it('tags the group with the pod, node and cluster, in the configured region', () => {
    const p = pod({ namespace: 'shop', name: 'api', node: 'vk-1', attempt: 2 });
    const group = containerGroupFromPod(p, settings);
    assert.equal(group.location, 'westeurope');
    assert.deepEqual(group.tags, {
      'funclet-namespace': 'shop',
      'funclet-pod': 'api',
      'funclet-pod-uid': p.uid,
      'funclet-node': 'vk-1',
      'funclet-cluster': clusterName,
      'funclet-attempt': '2',
    });
    assert.equal(group.osType, 'Linux');
    assert.equal(group.restartPolicy, 'Always');
  });

  it('keeps secret environment values in secureValue only', () => {
    const group = containerGroupFromPod(
      pod({
        containers: [
          container({
            env: [
              { name: 'MODE', value: 'prod', secret: false },
              { name: 'TOKEN', value: 's3cret', secret: true },
            ],
          }),
        ],
      }),
      settings,
    );
    assert.deepEqual(group.containers[0]!.environmentVariables, [
      { name: 'MODE', value: 'prod' },
      { name: 'TOKEN', secureValue: 's3cret' },
    ]);
  });

  it('refuses lifecycle hooks, startup probes, workingDir and tcpSocket/grpc probes, all in one message', () => {
    const message = refusal(
      pod({
        containers: [
          container({
            name: 'web',
            hasLifecycleHooks: true,
            workingDir: '/srv',
            startupProbe: { exec: { command: ['true'] } },
            livenessProbe: { tcpSocket: { port: 80 } },
            readinessProbe: { grpc: { port: 9000 } },
          }),
        ],
      }),
    );
    assert.match(message, /Container "web" has lifecycle hooks/);
    assert.match(message, /Container "web" has a startupProbe, which ACI does not support/);
    assert.match(message, /Container "web" sets workingDir/);
    assert.match(message, /liveness probe of container "web" uses tcpSocket/);
    assert.match(message, /readiness probe of container "web" uses grpc/);
  });

  it('maps exec and httpGet probes, resolving a named port', () => {
    const group = containerGroupFromPod(
      pod({
        containers: [
          container({
            ports: [{ containerPort: 8080, protocol: 'TCP', name: 'http' }],
            livenessProbe: { httpGet: { path: '/healthz', port: 'http', scheme: 'HTTPS' }, periodSeconds: 5 },
            readinessProbe: { exec: { command: ['cat', '/ready'] }, initialDelaySeconds: 3 },
          }),
        ],
      }),
      settings,
    );
    const c = group.containers[0]!;
    assert.deepEqual(c.livenessProbe?.httpGet, {
      path: '/healthz',
      port: 8080,
      scheme: 'https',
      httpHeaders: undefined,
    });
    assert.equal(c.livenessProbe?.periodSeconds, 5);
    assert.deepEqual(c.readinessProbe?.exec, { command: ['cat', '/ready'] });
    assert.equal(c.readinessProbe?.initialDelaySeconds, 3);
  });

  it('maps emptyDir, files and azureFile volumes, files as base64 secret content', () => {
    const group = containerGroupFromPod(
      pod({
        volumes: [
          { name: 'scratch', kind: 'emptyDir', medium: 'Memory' },
          {
            name: 'config',
            kind: 'files',
            source: 'configMap',
            files: [{ path: 'app.yaml', contentBase64: 'YTogMQ==', mode: 0o644 }],
          },
          { name: 'empty', kind: 'files', source: 'secret', files: [] },
          {
            name: 'share',
            kind: 'azureFile',
            shareName: 's',
            storageAccountName: 'acct',
            storageAccountKey: 'k',
            readOnly: true,
          },
        ],
        containers: [
          container({
            volumeMounts: [
              { name: 'scratch', mountPath: '/tmp/x', readOnly: false },
              { name: 'config', mountPath: '/etc/app', readOnly: true },
            ],
          }),
        ],
      }),
      settings,
    );
    assert.deepEqual(group.volumes, [
      { name: 'scratch', emptyDir: {} },
      { name: 'config', secret: { 'app.yaml': 'YTogMQ==' } },
      { name: 'empty', emptyDir: {} },
      {
        name: 'share',
        azureFile: { shareName: 's', storageAccountName: 'acct', storageAccountKey: 'k', readOnly: true },
      },
    ]);
    assert.deepEqual(group.containers[0]!.volumeMounts, [
      { name: 'scratch', mountPath: '/tmp/x', readOnly: false },
      { name: 'config', mountPath: '/etc/app', readOnly: true },
    ]);
  });

  it('refuses what ACI volumes cannot hold: other volume types, files in subdirectories, subPath mounts', () => {
    const message = refusal(
      pod({
        volumes: [
          { name: 'data', kind: 'unsupported', type: 'persistentVolumeClaim' },
          {
            name: 'cfg',
            kind: 'files',
            source: 'configMap',
            files: [{ path: 'conf.d/a.conf', contentBase64: 'eA==', mode: 0o644 }],
          },
        ],
        containers: [
          container({
            name: 'db',
            volumeMounts: [{ name: 'cfg', mountPath: '/etc/a.conf', readOnly: true, subPath: 'a.conf' }],
          }),
        ],
      }),
    );
    assert.match(message, /Volume "data" is of type persistentVolumeClaim, which ACI cannot mount/);
    assert.match(message, /Volume "cfg" places the file "conf.d\/a.conf" in a subdirectory/);
    assert.match(message, /Container "db" mounts volume "cfg" with subPath "a.conf"/);
  });

  it('refuses volumes in a Windows pod', () => {
    const message = refusal(pod({ os: 'windows', volumes: [{ name: 'scratch', kind: 'emptyDir' }] }));
    assert.match(message, /only into Linux container groups/);
  });

  it('gives no IP for ports alone: a containerPort exposes nothing in Kubernetes', () => {
    const ported = pod({ containers: [container({ ports: [{ containerPort: 80, protocol: 'TCP' }] })] });
    assert.equal(containerGroupFromPod(ported, settings).ipAddress, undefined);
    assert.equal(containerGroupFromPod(ported, { ...settings, publicIp: 'annotated' }).ipAddress, undefined);
  });

  it('gives a public IP to a pod that asks for one on a node that allows it, and refuses it where none is given', () => {
    const asking = pod({
      annotations: { [publicIpAnnotation]: 'true' },
      containers: [container({ ports: [{ containerPort: 443, protocol: 'TCP' }] })],
    });
    assert.deepEqual(containerGroupFromPod(asking, { ...settings, publicIp: 'annotated' }).ipAddress, {
      type: 'Public',
      ports: [{ port: 443, protocol: 'TCP' }],
    });
    assert.match(
      refusal(asking),
      /asks for a public IP \(funclet.io\/aci-public-ip\), but node .* gives none/,
    );
    assert.match(
      refusal(asking, aciConfig(undefined, { subnetId })),
      /ACI gives none to a container group in a virtual network/,
    );
    const optedOut = pod({
      annotations: { [publicIpAnnotation]: 'false' },
      containers: [container({ ports: [{ containerPort: 443, protocol: 'TCP' }] })],
    });
    assert.equal(containerGroupFromPod(optedOut, { ...settings, publicIp: 'all' }).ipAddress, undefined);
  });

  it('gives every pod with ports a public IP on a node whose publicIp is all, and none without ports', () => {
    const all = { ...settings, publicIp: 'all' as const };
    const withPorts = containerGroupFromPod(
      pod({
        containers: [
          container({ name: 'a', ports: [{ containerPort: 80, protocol: 'TCP' }] }),
          container({
            name: 'b',
            ports: [
              { containerPort: 53, protocol: 'UDP' },
              { containerPort: 80, protocol: 'TCP' },
            ],
          }),
        ],
        dnsConfig: { nameservers: ['10.0.0.10'], searches: ['default.svc.cluster.local'], options: [] },
      }),
      all,
    );
    assert.deepEqual(withPorts.ipAddress, {
      type: 'Public',
      ports: [
        { port: 80, protocol: 'TCP' },
        { port: 53, protocol: 'UDP' },
      ],
    });
    assert.equal(withPorts.dnsConfig, undefined, 'cluster DNS is unreachable from a public group');
    assert.equal(containerGroupFromPod(pod(), all).ipAddress, undefined);
  });

  it('puts the group in the configured subnet with a private IP and the pod DNS settings', () => {
    const config = aciConfig(undefined, { subnetId });
    const group = containerGroupFromPod(
      pod({
        dnsConfig: {
          nameservers: ['10.0.0.10'],
          searches: ['default.svc.cluster.local', 'svc.cluster.local', 'svc.cluster.local'],
          options: [{ name: 'ndots', value: '5' }, { name: 'edns0' }],
        },
      }),
      { config, clusterName },
    );
    assert.deepEqual(group.subnetIds, [{ id: subnetId }]);
    assert.deepEqual(group.ipAddress, { type: 'Private', ports: [] });
    assert.deepEqual(group.dnsConfig, {
      nameServers: ['10.0.0.10'],
      searchDomains: 'default.svc.cluster.local svc.cluster.local',
      options: 'ndots:5 edns0',
    });
  });

  it('asks for V100 GPUs unless the pod names another SKU, and refuses GPUs in a subnet', () => {
    const gpuPod = (annotations: Record<string, string> = {}): ResolvedPod =>
      pod({ annotations, containers: [container({ limits: { gpu: 1 } })] });
    assert.deepEqual(containerGroupFromPod(gpuPod(), settings).containers[0]!.resources.requests.gpu, {
      count: 1,
      sku: 'V100',
    });
    assert.deepEqual(
      containerGroupFromPod(gpuPod({ [gpuSkuAnnotation]: 'K80' }), settings).containers[0]!.resources.requests
        .gpu,
      { count: 1, sku: 'K80' },
    );
    assert.match(refusal(gpuPod({ [gpuSkuAnnotation]: 'H100' })), /ACI's GPU SKUs are K80, P100, V100/);
    assert.match(
      refusal(gpuPod(), aciConfig(undefined, { subnetId })),
      /no GPUs to container groups in a virtual network/,
    );
  });

  it('maps init containers without resources, and registry credentials once per server', () => {
    const group = containerGroupFromPod(
      pod({
        restartPolicy: 'Never',
        initContainers: [
          container({ name: 'migrate', image: 'repo.example/migrate:1', command: ['migrate'] }),
        ],
        imagePullCredentials: [
          { server: 'repo.example', username: 'u', password: 'p' },
          { server: 'REPO.example', username: 'u2', password: 'p2' },
        ],
      }),
      settings,
    );
    assert.equal(group.restartPolicy, 'Never');
    assert.deepEqual(group.initContainers, [
      {
        name: 'migrate',
        image: 'repo.example/migrate:1',
        command: ['migrate'],
        environmentVariables: [],
        volumeMounts: [],
      },
    ]);
    assert.deepEqual(group.imageRegistryCredentials, [
      { server: 'repo.example', username: 'u', password: 'p' },
    ]);
  });
});

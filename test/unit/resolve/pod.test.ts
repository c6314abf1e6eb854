import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Probe } from '@kubernetes/client-node';
import { InvalidInputError } from '../../../core/errors.ts';
import { ContainerConfigError, resolvePod } from '../../../core/pods/resolve/index.ts';
import { FakeResolverApi, options, pod } from './support.ts';

function api(): FakeResolverApi {
  return new FakeResolverApi()
    .service('default', 'kubernetes', '10.0.0.1', [{ name: 'https', port: 443 }])
    .configMap('team', 'app', { GREETING: 'hello', DIR: 'logs' })
    .secret('team', 'db', { PASSWORD: 'pw' });
}

const probe: V1Probe = { httpGet: { path: '/healthz', port: 8080 }, periodSeconds: 5 };

describe('a resolved pod', () => {
  it('carries identity, node, labels, annotations, selector, attempt, creation time and defaults', async () => {
    const resolved = await resolvePod(pod({ nodeSelector: { pool: 'burst' } }), api(), {
      ...options,
      attempt: 2,
    });
    assert.deepEqual(
      {
        namespace: resolved.namespace,
        name: resolved.name,
        uid: resolved.uid,
        node: resolved.node,
        labels: resolved.labels,
        annotations: resolved.annotations,
        os: resolved.os,
        restartPolicy: resolved.restartPolicy,
        nodeSelector: resolved.nodeSelector,
        attempt: resolved.attempt,
        createdAtMs: resolved.createdAtMs,
        dnsConfig: resolved.dnsConfig,
        initContainers: resolved.initContainers,
        imagePullCredentials: resolved.imagePullCredentials,
        volumes: resolved.volumes,
      },
      {
        namespace: 'team',
        name: 'web-0',
        uid: '11111111-2222-3333-4444-555555555555',
        node: 'vk-1',
        labels: { app: 'web', tier: 'front' },
        annotations: { note: 'say "hi"\n' },
        os: 'linux',
        restartPolicy: 'Always',
        nodeSelector: { pool: 'burst' },
        attempt: 2,
        createdAtMs: Date.UTC(2025, 0, 1),
        dnsConfig: undefined,
        initContainers: [],
        imagePullCredentials: [],
        volumes: [],
      },
    );
  });

  it('takes the os from spec.os, else the kubernetes.io/os selector', async () => {
    assert.equal((await resolvePod(pod({ os: { name: 'windows' } }), api(), options)).os, 'windows');
    assert.equal(
      (await resolvePod(pod({ nodeSelector: { 'kubernetes.io/os': 'windows' } }), api(), options)).os,
      'windows',
    );
    await assert.rejects(
      resolvePod(pod({ nodeSelector: { 'kubernetes.io/os': 'plan9' } }), api(), options),
      InvalidInputError,
    );
  });

  it('copies restartPolicy and dnsConfig, and falls back to now without a creationTimestamp', async () => {
    const p = pod({
      restartPolicy: 'OnFailure',
      dnsConfig: { nameservers: ['1.1.1.1'], options: [{ name: 'ndots', value: '2' }, { name: 'edns0' }] },
    });
    delete p.metadata!.creationTimestamp;
    const resolved = await resolvePod(p, api(), options);
    assert.equal(resolved.restartPolicy, 'OnFailure');
    assert.deepEqual(resolved.dnsConfig, {
      nameservers: ['1.1.1.1'],
      searches: [],
      options: [{ name: 'ndots', value: '2' }, { name: 'edns0' }],
    });
    assert.equal(resolved.createdAtMs, options.nowMs);
  });

  it('reports the first problem in the kubelet’s order (volumes before pull secrets), however the reads finish', async () => {
    // The volume's ConfigMap answers last; the broken pull secret answers at once.
    class SlowConfigMaps extends FakeResolverApi {
      override async getConfigMap(namespace: string, name: string) {
        await new Promise((r) => setTimeout(r, 30));
        return super.getConfigMap(namespace, name);
      }
    }
    const fake = new SlowConfigMaps().secret(
      'team',
      'broken',
      { '.dockerconfigjson': 'not json' },
      'kubernetes.io/dockerconfigjson',
    );
    await assert.rejects(
      resolvePod(
        pod({
          volumes: [{ name: 'conf', configMap: { name: 'gone' } }],
          imagePullSecrets: [{ name: 'broken' }],
        }),
        fake,
        options,
      ),
      (err: unknown) => {
        assert.ok(err instanceof ContainerConfigError);
        assert.match(err.message, /gone/);
        assert.doesNotMatch(err.message, /broken/);
        return true;
      },
    );
  });

  it('refuses a pod without namespace, name or uid', async () => {
    const p = pod();
    delete p.metadata!.uid;
    await assert.rejects(resolvePod(p, api(), options), InvalidInputError);
  });
});

describe('a resolved container', () => {
  it('expands $(VAR) in command and args with its final env, service links included', async () => {
    const resolved = await resolvePod(
      pod(
        {},
        {
          command: ['/bin/sh', '-c', 'echo $(GREETING) $$(GREETING) $(KUBERNETES_SERVICE_HOST) $(UNSET)'],
          args: ['--password=$(PASSWORD)'],
          env: [
            { name: 'GREETING', valueFrom: { configMapKeyRef: { name: 'app', key: 'GREETING' } } },
            { name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'PASSWORD' } } },
          ],
        },
      ),
      api(),
      options,
    );
    const c = resolved.containers[0]!;
    assert.deepEqual(c.command, ['/bin/sh', '-c', 'echo hello $(GREETING) 10.0.0.1 $(UNSET)']);
    assert.deepEqual(c.args, ['--password=pw']);
  });

  it('leaves command and args unset when the pod does not set them', async () => {
    const c = (await resolvePod(pod({}, { command: [], workingDir: '' }), api(), options)).containers[0]!;
    assert.equal('command' in c, false);
    assert.equal('args' in c, false);
    assert.equal('workingDir' in c, false);
  });

  it('carries image, workingDir, ports, resources, probes and whether it has lifecycle hooks', async () => {
    const c = (
      await resolvePod(
        pod(
          {},
          {
            workingDir: '/srv',
            ports: [
              { containerPort: 8080, name: 'http' },
              { containerPort: 53, protocol: 'UDP' },
            ],
            resources: {
              requests: { cpu: '250m', memory: '128Mi' },
              limits: { cpu: '1', memory: '1Gi', 'nvidia.com/gpu': '1' },
            },
            livenessProbe: probe,
            readinessProbe: probe,
            lifecycle: { preStop: { exec: { command: ['sleep', '5'] } } },
          },
        ),
        api(),
        options,
      )
    ).containers[0]!;
    assert.equal(c.image, 'nginx:1.27');
    assert.equal(c.workingDir, '/srv');
    assert.deepEqual(c.ports, [
      { containerPort: 8080, protocol: 'TCP', name: 'http' },
      { containerPort: 53, protocol: 'UDP' },
    ]);
    assert.deepEqual(c.requests, { cpu: 0.25, memoryBytes: 128 * 2 ** 20, gpu: 1 });
    assert.deepEqual(c.limits, { cpu: 1, memoryBytes: 2 ** 30, gpu: 1 });
    assert.deepEqual(c.livenessProbe, probe);
    assert.deepEqual(c.readinessProbe, probe);
    assert.equal(c.startupProbe, undefined);
    assert.equal(c.hasLifecycleHooks, true);
  });

  it('has no lifecycle hooks without postStart or preStop, and no resources it does not ask for', async () => {
    const c = (await resolvePod(pod({}, { lifecycle: {} }), api(), options)).containers[0]!;
    assert.equal(c.hasLifecycleHooks, false);
    assert.deepEqual(c.requests, {});
    assert.deepEqual(c.limits, {});
  });

  it('refuses SCTP ports and malformed quantities', async () => {
    await assert.rejects(
      resolvePod(pod({}, { ports: [{ containerPort: 9, protocol: 'SCTP' }] }), api(), options),
      InvalidInputError,
    );
    await assert.rejects(
      resolvePod(pod({}, { resources: { limits: { memory: '1 GB' } } }), api(), options),
      (err: unknown) => err instanceof InvalidInputError && /container "app".*"1 GB"/.test(err.message),
    );
  });

  it('mounts volumes with readOnly, subPath, and subPathExpr expanded from its env', async () => {
    const c = (
      await resolvePod(
        pod(
          { volumes: [{ name: 'data', emptyDir: {} }] },
          {
            env: [
              { name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
              { name: 'DIR', valueFrom: { configMapKeyRef: { name: 'app', key: 'DIR' } } },
            ],
            volumeMounts: [
              { name: 'data', mountPath: '/data' },
              { name: 'data', mountPath: '/cfg', readOnly: true, subPath: 'cfg' },
              { name: 'data', mountPath: '/logs', subPathExpr: '$(DIR)/$(POD)' },
            ],
          },
        ),
        api(),
        options,
      )
    ).containers[0]!;
    assert.deepEqual(c.volumeMounts, [
      { name: 'data', mountPath: '/data', readOnly: false },
      { name: 'data', mountPath: '/cfg', readOnly: true, subPath: 'cfg' },
      { name: 'data', mountPath: '/logs', readOnly: false, subPath: 'logs/web-0' },
    ]);
  });

  it('fails with CreateContainerConfigError on a subPathExpr naming an unset variable or escaping the volume', async () => {
    const mount = (subPathExpr: string) =>
      resolvePod(
        pod(
          { volumes: [{ name: 'data', emptyDir: {} }] },
          {
            env: [
              { name: 'UP', value: '..' },
              { name: 'ABS', value: '/etc' },
            ],
            volumeMounts: [{ name: 'data', mountPath: '/x', subPathExpr }],
          },
        ),
        api(),
        options,
      );
    await assert.rejects(
      mount('$(NOPE)/x'),
      (err: unknown) => err instanceof ContainerConfigError && /missing value for NOPE/.test(err.message),
    );
    await assert.rejects(mount('a/$(UP)/b'), ContainerConfigError);
    await assert.rejects(mount('$(ABS)'), ContainerConfigError);
  });

  it('resolves init containers the same way, into initContainers', async () => {
    const resolved = await resolvePod(
      pod({
        initContainers: [
          {
            name: 'migrate',
            image: 'migrate:1',
            args: ['--greeting=$(G)'],
            env: [{ name: 'G', valueFrom: { configMapKeyRef: { name: 'app', key: 'GREETING' } } }],
          },
        ],
      }),
      api(),
      options,
    );
    assert.deepEqual(
      resolved.initContainers.map((c) => [c.name, c.args]),
      [['migrate', ['--greeting=hello']]],
    );
    assert.equal(
      resolved.initContainers[0]!.env.find((v) => v.name === 'KUBERNETES_SERVICE_HOST')?.value,
      '10.0.0.1',
    );
  });
});

describe('one resolution pass', () => {
  it('reads each ConfigMap, Secret and Service list once, and nothing across passes', async () => {
    const fake = api();
    const p = pod(
      { volumes: [{ name: 'cfg', configMap: { name: 'app' } }] },
      {
        envFrom: [{ configMapRef: { name: 'app' } }, { secretRef: { name: 'db' } }],
        env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'app', key: 'DIR' } } }],
      },
    );
    p.spec!.containers.push({ name: 'two', image: 'x', envFrom: [{ configMapRef: { name: 'app' } }] });
    await resolvePod(p, fake, options);
    assert.deepEqual(fake.calls.sort(), [
      'getConfigMap team/app',
      'getSecret team/db',
      'listServices default',
      'listServices team',
    ]);
    fake.configMap('team', 'app', { GREETING: 'changed', DIR: 'logs' });
    const again = await resolvePod(p, fake, options);
    assert.equal(again.containers[1]!.env.find((v) => v.name === 'GREETING')?.value, 'changed');
  });
});

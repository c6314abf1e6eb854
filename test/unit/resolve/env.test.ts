import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Container, V1EnvVar } from '@kubernetes/client-node';
import { InvalidInputError } from '../../../core/errors.ts';
import {
  ContainerConfigError,
  resolvePod,
  resolvePodWithWarnings,
} from '../../../core/pods/resolve/index.ts';
import { envRecord, FakeResolverApi, options, pod } from './support.ts';

function api(): FakeResolverApi {
  return new FakeResolverApi()
    .configMap('team', 'app', { MODE: 'prod', HOST: 'db.internal', 'log.level': 'debug' })
    .configMap('team', 'extra', { MODE: 'staging', EXTRA: 'yes' })
    .secret('team', 'db', { PASSWORD: 's3cr3t', USER: 'admin' });
}

async function envOf(container: Partial<V1Container>, fake = api(), extra = {}) {
  const resolved = await resolvePod(pod({}, container), fake, { ...options, ...extra });
  return resolved.containers[0]!.env;
}

async function configError(container: Partial<V1Container>): Promise<ContainerConfigError> {
  const err: unknown = await resolvePod(pod({}, container), api(), options).then(
    () => assert.fail('expected a ContainerConfigError'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof ContainerConfigError, `expected ContainerConfigError, got ${String(err)}`);
  assert.ok(err instanceof InvalidInputError);
  assert.equal(err.reason, 'CreateContainerConfigError');
  return err;
}

describe('container env', () => {
  it('takes envFrom in order with prefixes, later sources winning, then env winning over both', async () => {
    const env = await envOf({
      envFrom: [
        { configMapRef: { name: 'app' } },
        { configMapRef: { name: 'extra' } },
        { prefix: 'DB_', secretRef: { name: 'db' } },
      ],
      env: [{ name: 'EXTRA', value: 'from-env' }],
    });
    assert.deepEqual(
      env.map((v) => [v.name, v.value, v.secret]),
      [
        ['HOST', 'db.internal', false],
        ['log.level', 'debug', false],
        ['MODE', 'staging', false],
        ['DB_PASSWORD', 's3cr3t', true],
        ['DB_USER', 'admin', true],
        ['EXTRA', 'from-env', false],
      ],
    );
  });

  it('lets a later env entry of the same name replace an earlier one', async () => {
    const env = await envOf({
      env: [
        { name: 'A', value: '1' },
        { name: 'B', value: 'first $(A)' },
        { name: 'A', value: '2' },
        { name: 'C', value: '$(A)' },
      ],
    });
    assert.deepEqual(
      env.map((v) => `${v.name}=${v.value}`),
      ['B=first 1', 'A=2', 'C=2'],
    );
  });

  it('expands $(VAR) against what is defined before, with $$ escaping and unknown names kept', async () => {
    const env = await envOf({
      envFrom: [{ configMapRef: { name: 'app' } }],
      env: [
        { name: 'URL', value: 'postgres://$(HOST)/$(DB)' },
        { name: 'DB', value: 'orders' },
        { name: 'LITERAL', value: '$$(HOST) costs $$5' },
        { name: 'AGAIN', value: '$(URL)' },
      ],
    });
    const values = envRecord(env);
    assert.equal(values.URL, 'postgres://db.internal/$(DB)');
    assert.equal(values.LITERAL, '$(HOST) costs $5');
    assert.equal(values.AGAIN, 'postgres://db.internal/$(DB)');
  });

  it('marks values read from Secrets, and values expanded from them, as secret', async () => {
    const env = await envOf({
      env: [
        { name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'PASSWORD' } } },
        { name: 'DSN', value: 'admin:$(PASSWORD)@db' },
        { name: 'PLAIN', value: 'x$(NOT_DEFINED)' },
      ],
    });
    assert.deepEqual(
      env.map((v) => [v.name, v.value, v.secret]),
      [
        ['PASSWORD', 's3cr3t', true],
        ['DSN', 'admin:s3cr3t@db', true],
        ['PLAIN', 'x$(NOT_DEFINED)', false],
      ],
    );
  });

  it('reads configMapKeyRef and secretKeyRef values; an empty value with valueFrom uses the source', async () => {
    const values = envRecord(
      await envOf({
        env: [
          { name: 'MODE', value: '', valueFrom: { configMapKeyRef: { name: 'app', key: 'MODE' } } },
          { name: 'USER', valueFrom: { secretKeyRef: { name: 'db', key: 'USER' } } },
          { name: 'EMPTY' },
        ],
      }),
    );
    assert.deepEqual(values, { MODE: 'prod', USER: 'admin', EMPTY: '' });
  });

  it('omits a variable whose optional ConfigMap, Secret or key is missing, keeping any earlier value', async () => {
    const values = envRecord(
      await envOf({
        envFrom: [
          { configMapRef: { name: 'absent', optional: true } },
          { secretRef: { name: 'absent', optional: true } },
          { configMapRef: { name: 'app' } },
        ],
        env: [
          { name: 'MODE', valueFrom: { configMapKeyRef: { name: 'app', key: 'nope', optional: true } } },
          { name: 'GONE', valueFrom: { configMapKeyRef: { name: 'absent', key: 'k', optional: true } } },
          { name: 'GONE_TOO', valueFrom: { secretKeyRef: { name: 'db', key: 'nope', optional: true } } },
          { name: 'GONE_3', valueFrom: { secretKeyRef: { name: 'absent', key: 'k', optional: true } } },
        ],
      }),
    );
    assert.deepEqual(values, { HOST: 'db.internal', 'log.level': 'debug', MODE: 'prod' });
  });

  it('fails with CreateContainerConfigError naming a missing required ConfigMap, Secret or key', async () => {
    const cases: [Partial<V1Container>, RegExp, object][] = [
      [
        { envFrom: [{ configMapRef: { name: 'absent' } }] },
        /ConfigMap "team\/absent" not found.*container "app"/,
        { kind: 'ConfigMap', namespace: 'team', name: 'absent' },
      ],
      [
        { envFrom: [{ secretRef: { name: 'absent' } }] },
        /Secret "team\/absent" not found/,
        { kind: 'Secret', namespace: 'team', name: 'absent' },
      ],
      [
        { env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'app', key: 'nope' } } }] },
        /key "nope" in ConfigMap "team\/app" not found/,
        { kind: 'ConfigMap', namespace: 'team', name: 'app', key: 'nope' },
      ],
      [
        { env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 'db', key: 'nope' } } }] },
        /key "nope" in Secret "team\/db" not found/,
        { kind: 'Secret', namespace: 'team', name: 'db', key: 'nope' },
      ],
      [
        { env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 'vault', key: 'token' } } }] },
        /Secret "team\/vault" not found/,
        { kind: 'Secret', namespace: 'team', name: 'vault' },
      ],
    ];
    for (const [container, message, missing] of cases) {
      const err = await configError(container);
      assert.match(err.message, message);
      assert.deepEqual(err.missing, missing);
    }
  });

  it('skips envFrom keys that cannot be variable names, with the kubelet warning', async () => {
    const fake = api().configMap('team', 'odd', {
      GOOD: '1',
      'has=equals': '2',
      ünïcode: '3',
      '1st.ok-too': '4',
    });
    const { pod: resolved, warnings } = await resolvePodWithWarnings(
      pod({}, { envFrom: [{ configMapRef: { name: 'odd' } }] }),
      fake,
      options,
    );
    assert.deepEqual(envRecord(resolved.containers[0]!.env), { '1st.ok-too': '4', GOOD: '1' });
    assert.deepEqual(warnings, [
      {
        reason: 'InvalidEnvironmentVariableNames',
        message:
          'Keys [has=equals, ünïcode] from the EnvFrom configMap team/odd were skipped since they are considered invalid environment variable names.',
      },
    ]);
  });
});

describe('downward API env', () => {
  const field = (name: string, fieldPath: string): V1EnvVar => ({
    name,
    valueFrom: { fieldRef: { fieldPath } },
  });

  it('renders pod fields, labels and annotations by key, and the address the provider reserved', async () => {
    const values = envRecord(
      await envOf(
        {
          env: [
            field('NAME', 'metadata.name'),
            field('NS', 'metadata.namespace'),
            field('UID', 'metadata.uid'),
            field('APP', "metadata.labels['app']"),
            field('NOTE', "metadata.annotations['note']"),
            field('MISSING_LABEL', "metadata.labels['nope']"),
            field('NODE', 'spec.nodeName'),
            field('SA', 'spec.serviceAccountName'),
            field('HOST_IP', 'status.hostIP'),
            field('POD_IP', 'status.podIP'),
            field('POD_IPS', 'status.podIPs'),
          ],
        },
        api(),
        { podIP: '10.240.0.9' },
      ),
    );
    assert.deepEqual(values, {
      NAME: 'web-0',
      NS: 'team',
      UID: '11111111-2222-3333-4444-555555555555',
      APP: 'web',
      NOTE: 'say "hi"\n',
      MISSING_LABEL: '',
      NODE: 'vk-1',
      SA: 'builder',
      HOST_IP: '10.240.0.9',
      POD_IP: '10.240.0.9',
      POD_IPS: '10.240.0.9',
    });
  });

  it('refuses the address fields, naming the variable, when the provider cannot reserve an address, whatever the status says', async () => {
    for (const fieldPath of ['status.podIP', 'status.podIPs', 'status.hostIP', 'status.hostIPs']) {
      await assert.rejects(
        resolvePod(pod({}, { env: [field('ADDR', fieldPath)] }), api(), options),
        (err: unknown) =>
          err instanceof InvalidInputError &&
          !(err instanceof ContainerConfigError) &&
          err.message.includes(
            `env ADDR of container "app": ${fieldPath} is not known before the pod's instance starts`,
          ),
      );
    }
  });

  it('refuses a field the downward API does not offer', async () => {
    await assert.rejects(
      resolvePod(pod({}, { env: [field('X', 'spec.hostname')] }), api(), options),
      (err: unknown) => err instanceof InvalidInputError && /spec\.hostname/.test(err.message),
    );
  });

  const resource = (name: string, res: string, divisor?: string, containerName?: string): V1EnvVar => ({
    name,
    valueFrom: { resourceFieldRef: { resource: res, divisor, containerName } },
  });

  it('renders container resources divided by the divisor, rounded up', async () => {
    const values = envRecord(
      await envOf({
        resources: {
          requests: { cpu: '250m', memory: '100Mi' },
          limits: { cpu: '1500m', memory: '1Gi', 'ephemeral-storage': '2G' },
        },
        env: [
          resource('REQ_CPU', 'requests.cpu'),
          resource('REQ_CPU_M', 'requests.cpu', '1m'),
          resource('LIM_CPU', 'limits.cpu'),
          resource('LIM_CPU_M', 'limits.cpu', '1m'),
          resource('REQ_MEM', 'requests.memory'),
          resource('REQ_MEM_MI', 'requests.memory', '1Mi'),
          resource('REQ_MEM_GI', 'requests.memory', '1Gi'),
          resource('LIM_MEM_M', 'limits.memory', '1M'),
          resource('LIM_DISK_GI', 'limits.ephemeral-storage', '1Gi'),
        ],
      }),
    );
    assert.deepEqual(values, {
      REQ_CPU: '1',
      REQ_CPU_M: '250',
      LIM_CPU: '2',
      LIM_CPU_M: '1500',
      REQ_MEM: '104857600',
      REQ_MEM_MI: '100',
      REQ_MEM_GI: '1',
      LIM_MEM_M: '1074', // 1073.741824
      LIM_DISK_GI: '2', // 1.86
    });
  });

  it('reports the node allocatable as the limit a container does not set, else its request', async () => {
    const container = {
      resources: { requests: { cpu: '500m', memory: '64Mi' } },
      env: [resource('LIM_CPU', 'limits.cpu', '1m'), resource('LIM_MEM', 'limits.memory', '1Mi')],
    };
    assert.deepEqual(
      envRecord(await envOf(container, api(), { nodeAllocatable: { cpu: '4', memory: '16Gi' } })),
      {
        LIM_CPU: '4000',
        LIM_MEM: '16384',
      },
    );
    assert.deepEqual(envRecord(await envOf(container)), { LIM_CPU: '500', LIM_MEM: '64' });
  });

  it('takes requests from limits when only limits are set, as the API server defaults them', async () => {
    const values = envRecord(
      await envOf({ resources: { limits: { cpu: '2' } }, env: [resource('REQ', 'requests.cpu', '1m')] }),
    );
    assert.equal(values.REQ, '2000');
  });

  it('reads another container resources by containerName', async () => {
    const p = pod({}, { env: [resource('SIDE', 'limits.memory', '1Mi', 'side')] });
    p.spec!.containers.push({ name: 'side', image: 'busybox', resources: { limits: { memory: '32Mi' } } });
    const resolved = await resolvePod(p, api(), options);
    assert.equal(envRecord(resolved.containers[0]!.env).SIDE, '32');
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidInputError } from '../../../core/errors.ts';
import {
  canonicalJson,
  taskDefinitionFor,
  type TaskDefinitionSettings,
} from '../../../core/providers/ecs/task-definition.ts';
import type { V1Probe } from '@kubernetes/client-node';
import type { PodSecretRefs } from '../../../core/providers/ecs/pod-secrets.ts';
import type { ResolvedPod } from '../../../core/providers/types.ts';
import { container, resolvedPod } from './pods.ts';

const settings: TaskDefinitionSettings = {
  region: 'eu-west-1',
  executionRoleArn: 'arn:aws:iam::1:role/exec',
  taskRoleArn: 'arn:aws:iam::1:role/default',
  taskRoles: { 'team/builder': 'arn:aws:iam::1:role/reader', ops: 'arn:aws:iam::1:role/ops' },
  logGroup: '/funclet/pods',
};
const mib = 1024 * 1024;
/** Probes as they arrive from the API server: plain objects, not client-node class instances. */
const probe = (p: object): V1Probe => p;

function refusal(
  pod: ResolvedPod,
  sentence: RegExp,
  given: TaskDefinitionSettings = settings,
  secrets?: PodSecretRefs,
): void {
  assert.throws(
    () => taskDefinitionFor(pod, given, secrets),
    (err: unknown) => {
      assert.ok(err instanceof InvalidInputError, `an InvalidInputError, got ${String(err)}`);
      assert.match(err.message, sentence);
      return true;
    },
  );
}

void describe('an ECS task definition from a pod', () => {
  void it('puts Kubernetes command in entryPoint and args in command, and keeps them apart', () => {
    const def = taskDefinitionFor(
      resolvedPod({ containers: [container({ command: ['/bin/server'], args: ['--port', '80'] })] }),
      settings,
    );
    const [server] = def.containerDefinitions ?? [];
    assert.deepEqual([server?.entryPoint, server?.command], [['/bin/server'], ['--port', '80']]);

    const argsOnly = taskDefinitionFor(
      resolvedPod({ containers: [container({ args: ['--verbose'] })] }),
      settings,
    );
    const [verbose] = argsOnly.containerDefinitions ?? [];
    assert.deepEqual(
      [verbose?.entryPoint, verbose?.command],
      [undefined, ['--verbose']],
      "the image's entrypoint stays",
    );
  });

  void it('maps image, environment, ports, working directory, logs and the container health check', () => {
    const def = taskDefinitionFor(
      resolvedPod({
        namespace: 'shop',
        containers: [
          container({
            name: 'web',
            image: 'nginx:1.27',
            workingDir: '/srv',
            env: [
              { name: 'MODE', value: 'prod', secret: false },
              { name: 'TOKEN', value: 's3cret', secret: true },
            ],
            ports: [
              { containerPort: 80, protocol: 'TCP' },
              { containerPort: 53, protocol: 'UDP' },
            ],
            livenessProbe: probe({
              exec: { command: ['cat', '/tmp/healthy'] },
              periodSeconds: 15,
              timeoutSeconds: 1,
              failureThreshold: 20,
              initialDelaySeconds: 5,
            }),
          }),
        ],
      }),
      settings,
      {
        env: new Map([
          [
            'web',
            new Map([
              ['TOKEN', 'arn:aws:secretsmanager:eu-west-1:1:secret:funclet/c/u/0/env-AbCdEf:web/TOKEN::'],
            ]),
          ],
        ]),
        repositoryCredentials: new Map(),
      },
    );
    const web = def.containerDefinitions?.[0];
    assert.ok(web);
    assert.equal(web.name, 'web');
    assert.equal(web.image, 'nginx:1.27');
    assert.equal(web.essential, true);
    assert.equal(web.workingDirectory, '/srv');
    // The Secret value is referenced, never held: DescribeTaskDefinition and CloudTrail show the definition.
    assert.deepEqual(web.environment, [{ name: 'MODE', value: 'prod' }]);
    assert.deepEqual(web.secrets, [
      {
        name: 'TOKEN',
        valueFrom: 'arn:aws:secretsmanager:eu-west-1:1:secret:funclet/c/u/0/env-AbCdEf:web/TOKEN::',
      },
    ]);
    assert.ok(!JSON.stringify(def).includes('s3cret'));
    assert.deepEqual(web.portMappings, [
      { containerPort: 80, protocol: 'tcp' },
      { containerPort: 53, protocol: 'udp' },
    ]);
    // ECS's bounds: timeout at least 2 s, at most 10 retries.
    assert.deepEqual(web.healthCheck, {
      command: ['CMD', 'cat', '/tmp/healthy'],
      interval: 15,
      timeout: 2,
      retries: 10,
      startPeriod: 5,
    });
    assert.deepEqual(web.logConfiguration, {
      logDriver: 'awslogs',
      options: {
        'awslogs-group': '/funclet/pods',
        'awslogs-region': 'eu-west-1',
        'awslogs-stream-prefix': 'shop',
      },
    });
    assert.equal(def.executionRoleArn, 'arn:aws:iam::1:role/exec');
    assert.equal(def.taskRoleArn, 'arn:aws:iam::1:role/default');
    assert.deepEqual(def.requiresCompatibilities, ['FARGATE']);
    assert.equal(def.networkMode, 'awsvpc');
    assert.deepEqual(def.runtimePlatform, { operatingSystemFamily: 'LINUX', cpuArchitecture: 'X86_64' });
  });

  void it('leaves out the log configuration when no log group is set', () => {
    const def = taskDefinitionFor(resolvedPod(), { ...settings, logGroup: undefined });
    assert.equal(def.containerDefinitions?.[0]?.logConfiguration, undefined);
  });

  void it('runs init containers first, one after another, as non-essential containers', () => {
    const def = taskDefinitionFor(
      resolvedPod({
        containers: [container({ name: 'app' }), container({ name: 'sidecar' })],
        initContainers: [container({ name: 'migrate' }), container({ name: 'seed' })],
      }),
      settings,
    );
    const byName = new Map(def.containerDefinitions?.map((c) => [c.name, c]));
    assert.deepEqual([...byName.keys()], ['app', 'sidecar', 'init_migrate', 'init_seed']);
    assert.equal(byName.get('init_migrate')?.essential, false);
    assert.equal(byName.get('init_migrate')?.dependsOn, undefined);
    assert.deepEqual(byName.get('init_seed')?.dependsOn, [
      { containerName: 'init_migrate', condition: 'SUCCESS' },
    ]);
    for (const app of ['app', 'sidecar']) {
      assert.equal(byName.get(app)?.essential, true);
      assert.deepEqual(byName.get(app)?.dependsOn, [
        { containerName: 'init_migrate', condition: 'SUCCESS' },
        { containerName: 'init_seed', condition: 'SUCCESS' },
      ]);
    }
  });

  void it('sizes the task from the app containers together or the largest init container, rounded up to a Fargate size', () => {
    const def = taskDefinitionFor(
      resolvedPod({
        containers: [
          container({
            name: 'a',
            requests: { cpu: 0.5, memoryBytes: 512 * mib },
            limits: { memoryBytes: 1024 * mib },
          }),
          container({ name: 'b', requests: { cpu: 0.25, memoryBytes: 1024 * mib } }),
        ],
        initContainers: [container({ name: 'big-init', requests: { cpu: 0.5, memoryBytes: 3000 * mib } })],
      }),
      settings,
    );
    // App: 0.75 vCPU and 1024 + 1024 MiB; init: 3000 MiB -> 1 vCPU with 3 GiB.
    assert.equal(def.cpu, '1024');
    assert.equal(def.memory, '3072');
    const [a, b, init] = def.containerDefinitions ?? [];
    assert.deepEqual([a?.cpu, a?.memoryReservation, a?.memory], [512, 512, 1024]);
    assert.deepEqual([b?.cpu, b?.memoryReservation, b?.memory], [256, 1024, undefined]);
    assert.deepEqual([init?.cpu, init?.memoryReservation], [0, 6]);
  });

  void it('gives every container a memory reservation, even one that asks for nothing', () => {
    const def = taskDefinitionFor(resolvedPod({ initContainers: [container({ name: 'init' })] }), settings);
    for (const c of def.containerDefinitions ?? []) assert.ok((c.memoryReservation ?? 0) >= 6, c.name);
    assert.deepEqual([def.cpu, def.memory], ['256', '512']);
  });

  void it('derives the family from the content: identical specs share it, any difference changes it', () => {
    const a = taskDefinitionFor(resolvedPod({ name: 'a', uid: 'uid-a', attempt: 0 }), settings);
    const b = taskDefinitionFor(
      resolvedPod({ name: 'b', uid: 'uid-b', attempt: 3, labels: { x: 'y' } }),
      settings,
    );
    assert.match(a.family, /^funclet-[0-9a-f]{32}$/);
    assert.equal(b.family, a.family);
    const other = taskDefinitionFor(
      resolvedPod({ containers: [container({ image: 'nginx:1.28' })] }),
      settings,
    );
    assert.notEqual(other.family, a.family);
    const otherNamespace = taskDefinitionFor(resolvedPod({ namespace: 'other' }), settings);
    assert.notEqual(otherNamespace.family, a.family, 'the log stream prefix differs');
  });

  void it('hashes canonical JSON, independent of key order and undefined members', () => {
    assert.equal(
      canonicalJson({ b: 1, a: { d: undefined, c: [2, { z: 1, y: 2 }] } }),
      '{"a":{"c":[2,{"y":2,"z":1}]},"b":1}',
    );
  });

  void it('maps emptyDir volumes to task volumes and their size limits to extra ephemeral storage', () => {
    const def = taskDefinitionFor(
      resolvedPod({
        volumes: [
          { name: 'scratch', kind: 'emptyDir', sizeLimitBytes: 30 * 1024 * mib },
          { name: 'unused', kind: 'files', source: 'configMap', files: [] },
        ],
        containers: [
          container({ volumeMounts: [{ name: 'scratch', mountPath: '/scratch', readOnly: false }] }),
        ],
      }),
      settings,
    );
    assert.deepEqual(def.volumes, [{ name: 'scratch' }]);
    assert.deepEqual(def.containerDefinitions?.[0]?.mountPoints, [
      { sourceVolume: 'scratch', containerPath: '/scratch', readOnly: false },
    ]);
    assert.deepEqual(def.ephemeralStorage, { sizeInGiB: 50 });
  });

  void it('never puts a Secret value into a definition, and needs the execution role to reference one', () => {
    const secretEnv = resolvedPod({
      containers: [container({ env: [{ name: 'TOKEN', value: 's3cret', secret: true }] })],
    });
    assert.throws(
      () => taskDefinitionFor(secretEnv, settings),
      /TOKEN comes from a Secret but has no Secrets Manager reference/,
    );
    refusal(
      resolvedPod({ imagePullCredentials: [{ server: 'ghcr.io', username: 'u', password: 'p' }] }),
      /FUNCLET_ECS_EXECUTION_ROLE_ARN is not set/,
      { ...settings, executionRoleArn: undefined },
      { env: new Map(), repositoryCredentials: new Map() },
    );
  });

  void it("takes the task role the operator maps the pod's ServiceAccount or namespace to, never one the pod names", () => {
    const role = (namespace: string, serviceAccountName: string) =>
      taskDefinitionFor(resolvedPod({ namespace, serviceAccountName }), settings).taskRoleArn;
    assert.equal(role('team', 'builder'), 'arn:aws:iam::1:role/reader');
    assert.equal(role('team', 'default'), 'arn:aws:iam::1:role/default', 'unmapped: the node default');
    assert.equal(role('ops', 'anyone'), 'arn:aws:iam::1:role/ops', 'the namespace entry covers its accounts');
    assert.equal(
      role('dev', 'builder'),
      'arn:aws:iam::1:role/default',
      'another namespace, same account name',
    );
    assert.equal(
      taskDefinitionFor(resolvedPod({ namespace: 'team', serviceAccountName: 'builder' }), {
        ...settings,
        taskRoleArn: undefined,
      }).taskRoleArn,
      'arn:aws:iam::1:role/reader',
    );
    assert.equal(
      taskDefinitionFor(resolvedPod({ namespace: 'dev' }), { ...settings, taskRoleArn: undefined })
        .taskRoleArn,
      undefined,
      'no mapping and no default: no role at all',
    );
    // A user in dev naming prod's role (once honoured when the role was on the allow-list).
    refusal(
      resolvedPod({
        namespace: 'dev',
        annotations: { 'funclet.io/ecs-task-role': 'arn:aws:iam::1:role/ops' },
      }),
      /^annotation funclet.io\/ecs-task-role is not honoured: a pod's task role comes from its ServiceAccount/,
    );
  });

  void it('picks the CPU architecture from the kubernetes.io/arch node selector', () => {
    const arm = taskDefinitionFor(resolvedPod({ nodeSelector: { 'kubernetes.io/arch': 'arm64' } }), settings);
    assert.deepEqual(arm.runtimePlatform, { operatingSystemFamily: 'LINUX', cpuArchitecture: 'ARM64' });
    refusal(
      resolvedPod({ nodeSelector: { 'kubernetes.io/arch': 's390x' } }),
      /kubernetes.io\/arch=s390x; Fargate runs amd64 and arm64 only/,
    );
    const windows = taskDefinitionFor(resolvedPod({ os: 'windows' }), settings);
    assert.deepEqual(windows.runtimePlatform, {
      operatingSystemFamily: 'WINDOWS_SERVER_2022_CORE',
      cpuArchitecture: 'X86_64',
    });
    assert.deepEqual([windows.cpu, windows.memory], ['1024', '2048']);
  });

  void describe('refuses with a sentence naming what Fargate cannot do', () => {
    const mounted = (name: string) => [
      container({ volumeMounts: [{ name, mountPath: '/data', readOnly: true }] }),
    ];

    void it('a mounted configMap, secret or projected volume', () => {
      for (const source of ['configMap', 'secret', 'projected'] as const) {
        refusal(
          resolvedPod({
            volumes: [{ name: 'conf', kind: 'files', source, files: [] }],
            containers: mounted('conf'),
          }),
          new RegExp(
            `^volume conf is a ${source} volume; ECS on Fargate cannot mount ${source} files without EFS`,
          ),
        );
      }
    });

    void it('an Azure Files share, a memory-backed emptyDir and a volume of an unknown type', () => {
      refusal(
        resolvedPod({
          volumes: [
            {
              name: 'share',
              kind: 'azureFile',
              shareName: 's',
              storageAccountName: 'a',
              storageAccountKey: 'k',
              readOnly: false,
            },
          ],
          containers: mounted('share'),
        }),
        /^volume share is an Azure Files share/,
      );
      refusal(
        resolvedPod({
          volumes: [{ name: 'tmp', kind: 'emptyDir', medium: 'Memory' }],
          containers: mounted('tmp'),
        }),
        /^volume tmp is a memory-backed emptyDir/,
      );
      refusal(
        resolvedPod({
          volumes: [{ name: 'disk', kind: 'unsupported', type: 'hostPath' }],
          containers: mounted('disk'),
        }),
        /^volume disk is of type hostPath/,
      );
      refusal(
        resolvedPod({ containers: mounted('ghost') }),
        /^container app mounts volume ghost, which the pod does not define$/,
      );
    });

    void it('an httpGet or tcpSocket liveness probe, naming the container', () => {
      refusal(
        resolvedPod({
          containers: [
            container({ name: 'web', livenessProbe: probe({ httpGet: { path: '/', port: 80 } }) }),
          ],
        }),
        /^container web has a httpGet liveness probe; ECS can only run exec liveness probes/,
      );
      refusal(
        resolvedPod({
          containers: [container({ name: 'db', livenessProbe: probe({ tcpSocket: { port: 5432 } }) })],
        }),
        /^container db has a tcpSocket liveness probe/,
      );
    });

    void it('lifecycle hooks, startup probes, GPUs and subPath mounts', () => {
      refusal(
        resolvedPod({ containers: [container({ hasLifecycleHooks: true })] }),
        /^container app has lifecycle hooks/,
      );
      refusal(
        resolvedPod({ initContainers: [container({ name: 'i', hasLifecycleHooks: true })] }),
        /^init container i has lifecycle hooks/,
      );
      refusal(
        resolvedPod({ containers: [container({ startupProbe: probe({ exec: { command: ['true'] } }) })] }),
        /^container app has a startup probe/,
      );
      refusal(
        resolvedPod({ containers: [container({ limits: { gpu: 1 } })] }),
        /^container app asks for GPUs/,
      );
      refusal(
        resolvedPod({
          volumes: [{ name: 'v', kind: 'emptyDir' }],
          containers: [
            container({ volumeMounts: [{ name: 'v', mountPath: '/v', readOnly: false, subPath: 'x' }] }),
          ],
        }),
        /^container app mounts volume v with a subPath/,
      );
    });

    void it('a pod larger than Fargate allows, too many containers, or none', () => {
      refusal(
        resolvedPod({ containers: [container({ requests: { cpu: 32, memoryBytes: 64 * 1024 * mib } })] }),
        /^the pod needs 32 vCPU and 64 GiB of memory, more than the largest Fargate task/,
      );
      refusal(
        resolvedPod({ containers: Array.from({ length: 11 }, (_, i) => container({ name: `c${i}` })) }),
        /an ECS task holds at most 10/,
      );
      refusal(resolvedPod({ containers: [] }), /^the pod has no containers$/);
      refusal(
        resolvedPod({
          volumes: [{ name: 'huge', kind: 'emptyDir', sizeLimitBytes: 500 * 1024 * mib }],
          containers: mounted('huge'),
        }),
        /emptyDir volumes ask for 500 GiB/,
      );
    });
  });
});

describe('the service account token volume Kubernetes injects', () => {
  it('is left out of the task instead of refusing the pod, while a projected volume the pod asks for is refused', () => {
    const token = {
      name: 'kube-api-access-abcde',
      kind: 'files' as const,
      source: 'projected' as const,
      automatic: true,
      files: [{ path: 'token', contentBase64: 'dG9rZW4=', mode: 0o644 }],
    };
    const mount = {
      name: token.name,
      mountPath: '/var/run/secrets/kubernetes.io/serviceaccount',
      readOnly: true,
    };
    const pod = resolvedPod({ volumes: [token], containers: [container({ volumeMounts: [mount] })] });
    const def = taskDefinitionFor(pod, settings);
    assert.equal(def.volumes, undefined);
    assert.deepEqual(def.containerDefinitions?.[0]?.mountPoints ?? [], []);
    const asked = resolvedPod({
      volumes: [{ ...token, automatic: false }],
      containers: [container({ volumeMounts: [mount] })],
    });
    assert.throws(() => taskDefinitionFor(asked, settings), /kube-api-access-abcde/);
  });
});

/**
 * The ECS provider against moto's ECS, EC2 and CloudWatch Logs (container logs and figures are in
 * ecs-logs-stats.test.ts). Each run uses its own ECS cluster and gives every test a distinct pod
 * spec (and so a distinct task definition family), so that other test files sharing the moto
 * server, and the tests here, cannot see each other's tasks.
 *
 * moto holds tasks at RUNNING only while its global state manager says so: the setup asks it to
 * advance a task only after a very large number of DescribeTasks calls.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { before, describe, it } from 'node:test';
import { CloudWatchLogsClient, CreateLogGroupCommand } from '@aws-sdk/client-cloudwatch-logs';
import {
  DescribeNetworkInterfacesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import {
  CreateClusterCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  ECSClient,
  ListTaskDefinitionsCommand,
  ListTasksCommand,
  type Task,
} from '@aws-sdk/client-ecs';
import type { EcsConfig } from '../../core/config.ts';
import { InvalidInputError } from '../../core/errors.ts';
import { memoryLogger } from '../../core/log.ts';
import { createEcsProvider } from '../../core/providers/ecs/provider.ts';
import { startedByFor, tagMap } from '../../core/providers/ecs/naming.ts';
import { familyOf } from '../../core/providers/ecs/task-definition-registry.ts';
import type { Provider } from '../../core/providers/provider.ts';
import type { ResolvedPod } from '../../core/providers/types.ts';
import { testEnv, uniqueName } from '../support/env.ts';
import { container, resolvedPod } from '../unit/ecs/pods.ts';

const region = 'us-east-1';
const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };

void describe('the ECS provider against moto', () => {
  const endpoint = testEnv().moto.endpoint;
  const ecs = new ECSClient({ region, endpoint, credentials });
  const ec2 = new EC2Client({ region, endpoint, credentials });
  const cwl = new CloudWatchLogsClient({ region, endpoint, credentials });
  const ecsCluster = uniqueName('funclet-ecs');
  const funcletCluster = uniqueName('cluster');
  const logGroup = uniqueName('/funclet/ecs');
  const allowedRole = 'arn:aws:iam::123456789012:role/pod-reader';
  const { logger, lines } = memoryLogger();
  let config: EcsConfig;
  let provider: Provider;
  let subnet: string;
  let securityGroup: string;

  /** A pod whose spec (and task definition family) belongs to one test only. */
  const pod = (test: string, overrides: Partial<ResolvedPod> = {}): ResolvedPod =>
    resolvedPod({
      namespace: 'team-a',
      name: `${test}-${randomUUID().slice(0, 8)}`,
      uid: randomUUID(),
      node: `${test}-node`,
      containers: [
        container({
          command: ['sh', '-c'],
          args: ['echo hello; sleep 3600'],
          env: [{ name: 'TEST', value: test, secret: false }],
          requests: { cpu: 0.25, memoryBytes: 256 * 1024 * 1024 },
        }),
      ],
      ...overrides,
    });

  /** Secrets Manager as moto serves it, asked directly. */
  const secretsCall = async (target: string, input: object): Promise<Record<string, unknown>> => {
    const response = await fetch(endpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': `secretsmanager.${target}`,
        authorization: `AWS4-HMAC-SHA256 Credential=testing/20250101/${region}/secretsmanager/aws4_request, SignedHeaders=host, Signature=0`,
      },
      body: JSON.stringify(input),
    });
    const body = (await response.json()) as Record<string, unknown>;
    if (!response.ok) throw new Error(`${target}: ${String(body.__type)}`);
    return body;
  };
  const secretValue = async (arn: string): Promise<string> =>
    (await secretsCall('GetSecretValue', { SecretId: arn })).SecretString as string;
  const secretNames = async (prefix: string): Promise<string[]> =>
    (
      (await secretsCall('ListSecrets', { Filters: [{ Key: 'name', Values: [prefix] }] })).SecretList as {
        Name: string;
      }[]
    )
      .map((s) => s.Name)
      .filter((n) => n.startsWith(prefix));
  /** `arn:...:secret:name-suffix:json-key::` -> [the secret's ARN, the key]. */
  const splitValueFrom = (valueFrom: string): [string, string] => {
    const parts = valueFrom.split(':');
    return [parts.slice(0, 7).join(':'), parts[7] ?? ''];
  };

  const rawTask = async (arn: string): Promise<Task> => {
    const out = await ecs.send(
      new DescribeTasksCommand({ cluster: ecsCluster, tasks: [arn], include: ['TAGS'] }),
    );
    const task = out.tasks?.[0];
    assert.ok(task, `moto knows task ${arn}`);
    return task;
  };

  const nodeTaskArns = async (node: string): Promise<string[]> =>
    (
      await ecs.send(
        new ListTasksCommand({ cluster: ecsCluster, startedBy: startedByFor(funcletCluster, node) }),
      )
    ).taskArns ?? [];

  before(async () => {
    const hold = await fetch(`${endpoint}/moto-api/state-manager/set-transition`, {
      method: 'POST',
      body: JSON.stringify({
        model_name: 'ecs::task',
        transition: { progression: 'manual', times: 1_000_000 },
      }),
    });
    assert.ok(hold.ok, `moto set-transition: HTTP ${hold.status}`);
    await ecs.send(new CreateClusterCommand({ clusterName: ecsCluster }));
    const subnets = await ec2.send(
      new DescribeSubnetsCommand({ Filters: [{ Name: 'default-for-az', Values: ['true'] }] }),
    );
    const groups = await ec2.send(
      new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'group-name', Values: ['default'] }] }),
    );
    subnet = subnets.Subnets?.[0]?.SubnetId ?? '';
    securityGroup = groups.SecurityGroups?.[0]?.GroupId ?? '';
    assert.ok(subnet !== '' && securityGroup !== '', "moto's default VPC has a subnet and a security group");
    await cwl.send(new CreateLogGroupCommand({ logGroupName: logGroup }));
    config = {
      cluster: ecsCluster,
      region,
      subnets: [subnet],
      securityGroups: [securityGroup],
      assignPublicIp: false,
      executionRoleArn: 'arn:aws:iam::123456789012:role/ecs-execution',
      taskRoleArn: 'arn:aws:iam::123456789012:role/default-task',
      taskRoles: { 'team-a/builder': allowedRole },
      logGroup,
      endpoint,
    };
    provider = createEcsProvider(config, { clusterName: funcletCluster, logger, credentials });
  });

  void it('runs a pod as one Fargate task tagged with its identity, in the configured subnet and security group', async () => {
    const p = pod('create', {
      serviceAccountName: 'builder',
      containers: [
        container({
          command: ['sh', '-c'],
          args: ['echo hello; sleep 3600'],
          env: [
            { name: 'TEST', value: 'create', secret: false },
            { name: 'PASSWORD', value: 'hunter2-do-not-log', secret: true },
          ],
          requests: { cpu: 0.25, memoryBytes: 256 * 1024 * 1024 },
        }),
      ],
    });
    const { view: answered, ...ref } = await provider.createPod(p);

    assert.deepEqual(ref, { provider: 'ecs', id: ref.id, podUid: p.uid });
    assert.match(ref.id, /^arn:aws:ecs:[^:]+:\d+:task\//, 'the id is the task ARN');
    assert.deepEqual(
      [answered?.ref, answered?.namespace, answered?.name, answered?.containers.map((c) => c.name)],
      [ref, 'team-a', p.name, ['app']],
      'the task RunTask answered with is the pod’s view',
    );
    assert.deepEqual(await nodeTaskArns(p.node), [ref.id]);
    const task = await rawTask(ref.id);
    assert.equal(task.launchType, 'FARGATE');
    assert.deepEqual(tagMap(task.tags), {
      'funclet-pod-uid': p.uid,
      'funclet-namespace': 'team-a',
      'funclet-pod': p.name,
      'funclet-node': p.node,
      'funclet-cluster': funcletCluster,
      'funclet-attempt': '0',
    });
    const eni = task.attachments?.find((a) => a.type === 'ElasticNetworkInterface');
    const detail = (name: string) => eni?.details?.find((d) => d.name === name)?.value;
    assert.equal(detail('subnetId'), subnet);
    const nics = await ec2.send(
      new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [detail('networkInterfaceId') ?? ''] }),
    );
    assert.deepEqual(
      nics.NetworkInterfaces?.[0]?.Groups?.map((g) => g.GroupId),
      [securityGroup],
    );

    const def = (
      await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: task.taskDefinitionArn }))
    ).taskDefinition;
    assert.ok(def);
    assert.match(def.family ?? '', /^funclet-[0-9a-f]{32}$/);
    assert.deepEqual(
      [def.requiresCompatibilities, def.networkMode, def.cpu, def.memory, def.taskRoleArn],
      [['FARGATE'], 'awsvpc', '256', '512', allowedRole],
    );
    const app = def.containerDefinitions?.[0];
    assert.ok(app);
    assert.deepEqual(
      [
        app.entryPoint,
        app.command,
        app.memoryReservation,
        app.logConfiguration?.options?.['awslogs-stream-prefix'],
      ],
      [['sh', '-c'], ['echo hello; sleep 3600'], 256, 'team-a'],
    );
    // The Secret value is in Secrets Manager, referenced from the definition, and in no log line.
    assert.equal(
      app.environment?.find((e) => e.name === 'PASSWORD'),
      undefined,
    );
    assert.ok(
      !JSON.stringify(def).includes('hunter2-do-not-log'),
      'DescribeTaskDefinition shows no Secret value',
    );
    const valueFrom = app.secrets?.find((e) => e.name === 'PASSWORD')?.valueFrom ?? '';
    const [arn, key] = splitValueFrom(valueFrom);
    assert.match(arn, new RegExp(`:secret:funclet/${funcletCluster}/${p.uid}/0/env`));
    assert.equal((JSON.parse(await secretValue(arn)) as Record<string, string>)[key], 'hunter2-do-not-log');
    assert.ok(lines.some((l) => l.message === 'started ECS task' && l.podUid === p.uid));
    assert.ok(!JSON.stringify(lines).includes('hunter2-do-not-log'));
  });

  void it("keeps a pod's Secret values and registry credentials in Secrets Manager under its own path, and deletes them with it", async () => {
    const p = pod('secrets', {
      imagePullCredentials: [
        { server: 'registry.example.com', username: 'robot', password: 'pull-token-do-not-log' },
      ],
      containers: [
        container({
          image: 'registry.example.com/team/app:1',
          env: [{ name: 'API_KEY', value: 'key-do-not-log', secret: true }],
        }),
      ],
      initContainers: [
        container({ name: 'setup', env: [{ name: 'API_KEY', value: 'other-key', secret: true }] }),
      ],
    });
    const ref = await provider.createPod(p);
    const def = (
      await ecs.send(
        new DescribeTaskDefinitionCommand({ taskDefinition: (await rawTask(ref.id)).taskDefinitionArn }),
      )
    ).taskDefinition;
    const text = JSON.stringify(def);
    for (const value of ['key-do-not-log', 'other-key', 'pull-token-do-not-log'])
      assert.ok(!text.includes(value), value);
    const byName = new Map(def?.containerDefinitions?.map((c) => [c.name, c]));
    const value = async (container: string) => {
      const [arn, key] = splitValueFrom(byName.get(container)?.secrets?.[0]?.valueFrom ?? '');
      return (JSON.parse(await secretValue(arn)) as Record<string, string>)[key];
    };
    assert.equal(await value('app'), 'key-do-not-log');
    assert.equal(await value('init_setup'), 'other-key', 'each container its own value');
    const credentials = byName.get('app')?.repositoryCredentials?.credentialsParameter ?? '';
    assert.deepEqual(JSON.parse(await secretValue(credentials)), {
      username: 'robot',
      password: 'pull-token-do-not-log',
    });
    assert.equal(
      byName.get('init_setup')?.repositoryCredentials,
      undefined,
      'its image is from another registry',
    );
    assert.equal((await secretNames(`funclet/${funcletCluster}/${p.uid}/`)).length, 2);

    await provider.deletePod(ref);
    assert.deepEqual(await secretNames(`funclet/${funcletCluster}/${p.uid}/`), []);
    await assert.rejects(secretValue(credentials), /ResourceNotFoundException/);
  });

  void it('returns the same task when the same pod UID and attempt is created again, and a new one for the next attempt', async () => {
    const p = pod('idempotent');
    const first = await provider.createPod(p);
    const again = await provider.createPod(p);
    assert.equal(again.id, first.id);
    assert.deepEqual(await nodeTaskArns(p.node), [first.id]);

    const next = await provider.createPod({ ...p, attempt: 1 });
    assert.notEqual(next.id, first.id);
    assert.deepEqual((await nodeTaskArns(p.node)).sort(), [first.id, next.id].sort());
    assert.equal(tagMap((await rawTask(next.id)).tags)['funclet-attempt'], '1');
  });

  void it('reports a running task as a Running pod with the IP of its network interface', async () => {
    const p = pod('get');
    const ref = await provider.createPod(p);
    const view = await provider.getPod(ref);
    assert.ok(view);
    assert.equal(view.phase, 'Running');
    assert.deepEqual([view.namespace, view.name, view.node], ['team-a', p.name, p.node]);
    assert.deepEqual(view.ref, { provider: ref.provider, id: ref.id, podUid: ref.podUid });
    assert.match(view.podIP ?? '', /^\d+\.\d+\.\d+\.\d+$/);
    assert.equal(view.containers[0]?.name, 'app');
    assert.equal(view.reason, undefined);
  });

  void it('reports a task it does not know as missing', async () => {
    const arn = `arn:aws:ecs:${region}:123456789012:task/${ecsCluster}/${randomUUID().replaceAll('-', '')}`;
    assert.equal(await provider.getPod({ provider: 'ecs', id: arn, podUid: randomUUID() }), undefined);
  });

  void it('deletes a pod by stopping its task with a reason, and deleting again or deleting the unknown succeeds', async () => {
    const p = pod('delete');
    const ref = await provider.createPod(p);
    await provider.deletePod(ref);

    const task = await rawTask(ref.id);
    assert.equal(task.desiredStatus, 'STOPPED');
    assert.equal(task.lastStatus, 'STOPPED');
    assert.equal(task.stoppedReason, `Deleted by Funclet: pod team-a/${p.name} deleted`);
    const view = await provider.getPod(ref);
    assert.notEqual(view?.phase, 'Running');
    assert.notEqual(view?.phase, 'Pending');

    await provider.deletePod(ref);
    const unknown = `arn:aws:ecs:${region}:123456789012:task/${ecsCluster}/${randomUUID().replaceAll('-', '')}`;
    await provider.deletePod({ provider: 'ecs', id: unknown, podUid: randomUUID() });
  });

  void it("lists a node's tasks, stopped ones included, and no other node's", async () => {
    const mine = [pod('list'), pod('list'), pod('list')];
    const other = pod('list', { node: 'list-other-node' });
    const refs = await Promise.all(mine.map((p) => provider.createPod(p)));
    await provider.createPod(other);
    const deleted = refs[2];
    assert.ok(deleted);
    await provider.deletePod(deleted);

    const listed = await provider.listPods('list-node');
    assert.deepEqual(listed.map((v) => v.ref.podUid).sort(), mine.map((p) => p.uid).sort());
    assert.ok(listed.every((v) => v.node === 'list-node'));
    const stopped = listed.find((v) => v.ref.id === deleted.id);
    assert.ok(stopped && stopped.phase !== 'Running' && stopped.phase !== 'Pending');
    assert.deepEqual(
      (await provider.listPods('list-other-node')).map((v) => v.ref.podUid),
      [other.uid],
    );
    assert.deepEqual(await provider.listPods('list-nobody'), []);
  });

  void it('gives pods with identical specs one task definition and deregisters it when the last of them is deleted', async () => {
    const spec = pod('share');
    const a = await provider.createPod({ ...spec, name: 'share-a', uid: randomUUID() });
    const b = await provider.createPod({ ...spec, name: 'share-b', uid: randomUUID() });
    const arnA = (await rawTask(a.id)).taskDefinitionArn ?? '';
    assert.equal((await rawTask(b.id)).taskDefinitionArn, arnA);
    const family = familyOf(arnA) ?? '';
    const revisions = await ecs.send(new ListTaskDefinitionsCommand({ familyPrefix: family }));
    assert.deepEqual(revisions.taskDefinitionArns, [arnA]);

    const status = async (arn: string) =>
      (await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: arn }))).taskDefinition?.status;
    await provider.deletePod(a);
    assert.equal(await status(arnA), 'ACTIVE', 'pod b still runs on it');
    await provider.deletePod(b);
    assert.equal(await status(arnA), 'INACTIVE');

    // The same spec once more registers a fresh revision rather than running on the inactive one.
    const c = await provider.createPod({ ...spec, name: 'share-c', uid: randomUUID() });
    const arnC = (await rawTask(c.id)).taskDefinitionArn ?? '';
    assert.notEqual(arnC, arnA);
    assert.equal(await status(arnC), 'ACTIVE');

    const different = await provider.createPod(pod('share-other'));
    const otherFamily = familyOf((await rawTask(different.id)).taskDefinitionArn ?? '');
    assert.match(otherFamily ?? '', /^funclet-/);
    assert.notEqual(otherFamily, family);
  });

  void it('refuses a pod Fargate cannot run with a sentence naming the problem, and starts nothing', async () => {
    const p = pod('refuse', {
      volumes: [
        {
          name: 'settings',
          kind: 'files',
          source: 'configMap',
          files: [{ path: 'a', contentBase64: '', mode: 0o644 }],
        },
      ],
      containers: [
        container({ volumeMounts: [{ name: 'settings', mountPath: '/etc/settings', readOnly: true }] }),
      ],
    });
    await assert.rejects(provider.createPod(p), (err: unknown) => {
      assert.ok(err instanceof InvalidInputError);
      assert.match(err.message, /volume settings is a configMap volume/);
      return true;
    });
    const badRole = pod('refuse', {
      serviceAccountName: 'builder',
      annotations: { 'funclet.io/ecs-task-role': 'arn:aws:iam::123456789012:role/admin' },
    });
    await assert.rejects(provider.createPod(badRole), InvalidInputError);
    assert.deepEqual(await nodeTaskArns(p.node), []);
  });

  void it('is healthy while its cluster is active, and says so when the cluster does not exist', async () => {
    assert.deepEqual(await provider.health(), { ok: true });
    const missing = createEcsProvider(
      { ...config, cluster: uniqueName('no-such-cluster') },
      { clusterName: funcletCluster, logger, credentials },
    );
    const health = await missing.health();
    assert.equal(health.ok, false);
    assert.match(health.message ?? '', /does not exist/);
  });
});

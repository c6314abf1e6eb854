/**
 * Container logs (CloudWatch Logs, the awslogs stream of each container) and pod figures
 * (CloudWatch Container Insights) of the ECS provider, against moto. The tests write what ECS
 * would: log events into the task's streams, and the per-minute Container Insights metrics.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { before, describe, it } from 'node:test';
import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import {
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  CreateLogStreamCommand,
  PutLogEventsCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import { DescribeSubnetsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { CreateClusterCommand, DescribeTasksCommand, ECSClient, type Task } from '@aws-sdk/client-ecs';
import type { EcsConfig } from '../../core/config.ts';
import { InvalidInputError, NotFoundError } from '../../core/errors.ts';
import { memoryLogger } from '../../core/log.ts';
import { minuteMs } from '../../core/providers/cpu-grains.ts';
import { taskIdFromArn } from '../../core/providers/ecs/naming.ts';
import { createEcsProvider } from '../../core/providers/ecs/provider.ts';
import { awsCaller } from '../../core/providers/ecs/retry.ts';
import { insightsNamespace, readTaskStats } from '../../core/providers/ecs/stats.ts';
import { familyOf } from '../../core/providers/ecs/task-definition-registry.ts';
import { logStamp } from '../../core/providers/log-lines.ts';
import type { ProviderRef } from '../../core/providers/types.ts';
import { testEnv, uniqueName } from '../support/env.ts';
import { container, resolvedPod } from '../unit/ecs/pods.ts';

const region = 'us-east-1';
const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };

void describe('ECS container logs and pod stats against moto', () => {
  const endpoint = testEnv().moto.endpoint;
  const ecs = new ECSClient({ region, endpoint, credentials });
  const cwl = new CloudWatchLogsClient({ region, endpoint, credentials });
  const cloudwatch = new CloudWatchClient({ region, endpoint, credentials });
  const ecsCluster = uniqueName('funclet-ecs-logs');
  const funcletCluster = uniqueName('cluster');
  const logGroup = uniqueName('/funclet/ecs-logs');
  const { logger } = memoryLogger();
  let config: EcsConfig;
  /** A provider object of its own, as a new function instance would build. */
  const provider = () => createEcsProvider(config, { clusterName: funcletCluster, logger, credentials });

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
    const subnets = await new EC2Client({ region, endpoint, credentials }).send(
      new DescribeSubnetsCommand({ Filters: [{ Name: 'default-for-az', Values: ['true'] }] }),
    );
    await cwl.send(new CreateLogGroupCommand({ logGroupName: logGroup }));
    config = {
      cluster: ecsCluster,
      region,
      subnets: [subnets.Subnets?.[0]?.SubnetId ?? ''],
      securityGroups: [],
      assignPublicIp: false,
      executionRoleArn: 'arn:aws:iam::123456789012:role/ecs-execution',
      taskRoles: {},
      logGroup,
      endpoint,
    };
  });

  /** Runs a pod of its own (a task definition family of its own) in namespace team-a. */
  const runPod = async (test: string): Promise<ProviderRef> =>
    provider().createPod(
      resolvedPod({
        namespace: 'team-a',
        name: `${test}-${randomUUID().slice(0, 8)}`,
        uid: randomUUID(),
        node: 'logs-node',
        containers: [container({ env: [{ name: 'TEST', value: test, secret: false }] })],
      }),
    );

  /** Writes events into the app container's stream of the task, creating it the first time. */
  const write = async (ref: ProviderRef, events: { timestamp: number; message: string }[]) => {
    const logStreamName = `team-a/app/${taskIdFromArn(ref.id)}`;
    await cwl
      .send(new CreateLogStreamCommand({ logGroupName: logGroup, logStreamName }))
      .catch((err: unknown) => {
        if ((err as { name?: string }).name !== 'ResourceAlreadyExistsException') throw err;
      });
    await cwl.send(new PutLogEventsCommand({ logGroupName: logGroup, logStreamName, logEvents: events }));
  };
  // CloudWatch refuses events older than 14 days: write them in the last minutes.
  const t0 = Math.floor(Date.now() / 1000) * 1000 - 10 * minuteMs;
  const numbered = (from: number, count: number) =>
    Array.from({ length: count }, (_, i) => ({
      timestamp: t0 + (from + i) * 1000,
      message: `line ${from + i}`,
    }));

  void it('reads the stream as kubectl asks for it, and an empty chunk before the stream exists', async () => {
    const ref = await runPod('read');
    const empty = await provider().containerLogs(ref, 'app', {});
    assert.equal(empty.text, '', 'nothing written yet');
    await write(ref, [...numbered(0, 3), { timestamp: t0 + 3000, message: 'wörld\n' }]);
    assert.equal(
      (await provider().containerLogs(ref, 'app', { cursor: empty.cursor })).text,
      'line 0\nline 1\nline 2\nwörld\n',
    );
    const read = async (request: Parameters<ReturnType<typeof provider>['containerLogs']>[2]) =>
      (await provider().containerLogs(ref, 'app', request)).text;
    assert.equal(await read({}), 'line 0\nline 1\nline 2\nwörld\n');
    assert.equal(await read({ tailLines: 2 }), 'line 2\nwörld\n');
    assert.equal(await read({ tailLines: 0 }), '');
    assert.equal(await read({ sinceMs: t0 + 1000 }), 'line 1\nline 2\nwörld\n');
    assert.equal(await read({ sinceMs: t0 + 1000, tailLines: 1 }), 'wörld\n');
    assert.equal(await read({ tailLines: 1, timestamps: true }), `${logStamp(t0 + 3000)} wörld\n`);
    assert.equal(await read({ limitBytes: 23 }), 'line 0\nline 1\nline 2\nw');
  });

  void it('follows from each cursor with a new provider object each time, every line once', async () => {
    const ref = await runPod('follow');
    let cursor: string | undefined;
    let seen = '';
    let written = 0;
    for (let step = 0; step < 12; step++) {
      if (step % 3 !== 2) {
        await write(ref, numbered(written, step + 1));
        written += step + 1;
      }
      const chunk = await provider().containerLogs(ref, 'app', cursor === undefined ? {} : { cursor });
      seen += chunk.text;
      cursor = chunk.cursor;
    }
    assert.equal(
      seen,
      numbered(0, written)
        .map((e) => `${e.message}\n`)
        .join(''),
    );
  });

  void it('goes on after the line a byte limit cut, from the head or from a tail', async () => {
    const ref = await runPod('limit');
    await write(ref, numbered(0, 6));
    const head = await provider().containerLogs(ref, 'app', { limitBytes: 10 });
    assert.equal(head.text, 'line 0\nlin');
    assert.equal(
      (await provider().containerLogs(ref, 'app', { cursor: head.cursor })).text,
      numbered(2, 4)
        .map((e) => `${e.message}\n`)
        .join(''),
    );
    const tail = await provider().containerLogs(ref, 'app', { tailLines: 3, limitBytes: 8 });
    assert.equal(tail.text, 'line 3\nl');
    assert.equal((await provider().containerLogs(ref, 'app', { cursor: tail.cursor })).text, 'line 5\n');
    const fromFirst = await provider().containerLogs(ref, 'app', { tailLines: 6, limitBytes: 3 });
    assert.equal(fromFirst.text, 'lin');
    assert.equal(
      (await provider().containerLogs(ref, 'app', { cursor: fromFirst.cursor, limitBytes: 7 })).text,
      'line 1\n',
    );
  });

  void it('keeps the since filter of the first read when following', async () => {
    const ref = await runPod('since');
    await write(ref, numbered(0, 4));
    const first = await provider().containerLogs(ref, 'app', { sinceMs: t0 + 2000 });
    assert.equal(first.text, 'line 2\nline 3\n');
    await write(ref, numbered(4, 2));
    assert.equal(
      (await provider().containerLogs(ref, 'app', { cursor: first.cursor })).text,
      'line 4\nline 5\n',
    );
  });

  void it('is NotFoundError for a task that does not exist, InvalidInputError for a cursor not its own', async () => {
    await assert.rejects(
      provider().containerLogs(
        {
          provider: 'ecs',
          id: `arn:aws:ecs:${region}:123456789012:task/${ecsCluster}/${'0'.repeat(32)}`,
          podUid: 'u',
        },
        'app',
        {},
      ),
      NotFoundError,
    );
    const ref = await runPod('cursor');
    const chunk = await provider().containerLogs(ref, 'app', {});
    await assert.rejects(
      provider().containerLogs(ref, 'sidecar', { cursor: chunk.cursor }),
      InvalidInputError,
    );
    await assert.rejects(
      provider().containerLogs(ref, 'app', { cursor: 'eyJ4Ijp0cnVlfQ' }),
      InvalidInputError,
    );
  });

  void describe('figures from Container Insights', () => {
    const minute0 = Math.floor(Date.now() / minuteMs) * minuteMs - 20 * minuteMs;

    const describeTask = async (ref: ProviderRef): Promise<Task> => {
      const out = await ecs.send(
        new DescribeTasksCommand({ cluster: ecsCluster, tasks: [ref.id], include: ['TAGS'] }),
      );
      assert.ok(out.tasks?.[0]);
      // ECS sets startedAt on every task that reached RUNNING; moto leaves it out.
      return { ...out.tasks[0], startedAt: new Date(minute0 + 30_000) };
    };

    /** What Container Insights publishes each minute for the task's app container. */
    const publish = async (
      task: Task,
      minutes: { cpuUnits: number; memoryMiB: number }[],
      fromMinute = 0,
    ) => {
      const Dimensions = [
        { Name: 'ContainerName', Value: 'app' },
        { Name: 'TaskDefinitionFamily', Value: familyOf(task.taskDefinitionArn ?? '') ?? '' },
        { Name: 'ClusterName', Value: ecsCluster },
        { Name: 'TaskId', Value: taskIdFromArn(task.taskArn ?? '') },
      ];
      await cloudwatch.send(
        new PutMetricDataCommand({
          Namespace: insightsNamespace,
          MetricData: minutes.flatMap((m, i) => {
            const Timestamp = new Date(minute0 + (fromMinute + i) * minuteMs);
            return [
              {
                MetricName: 'ContainerCpuUtilized',
                Dimensions,
                Timestamp,
                Value: m.cpuUnits,
                Unit: 'None' as const,
              },
              {
                MetricName: 'ContainerMemoryUtilized',
                Dimensions,
                Timestamp,
                Value: m.memoryMiB,
                Unit: 'Megabytes' as const,
              },
            ];
          }),
        }),
      );
    };

    void it('integrates per-minute CPU units into core-nanoseconds, with memory in bytes, per task', async () => {
      const [a, b] = [await runPod('stats-a'), await runPod('stats-b')];
      const [taskA, taskB] = [await describeTask(a), await describeTask(b)];
      await publish(taskA, [
        { cpuUnits: 512, memoryMiB: 100 },
        { cpuUnits: 256, memoryMiB: 120 },
        { cpuUnits: 1024, memoryMiB: 90 },
      ]);
      await publish(taskB, [{ cpuUnits: 64, memoryMiB: 8 }]);
      const call = awsCaller();
      const nowMs = minute0 + 3 * minuteMs + 15_000;
      const stats = await readTaskStats(
        cloudwatch,
        call,
        ecsCluster,
        [
          { ref: a, task: taskA },
          { ref: b, task: taskB },
        ],
        nowMs,
      );
      const byTask = new Map(stats.map((s) => [s.ref.id, s]));
      assert.equal(byTask.get(a.id)?.atMs, minute0 + 3 * minuteMs);
      assert.deepEqual(byTask.get(a.id)?.containers, [
        {
          name: 'app',
          startedAtMs: minute0 + 30_000,
          cpuUsageCoreNanoSeconds: (0.5 + 0.25 + 1) * 60e9,
          cpuUsageNanoCores: 1e9,
          memoryWorkingSetBytes: 90 * 1024 * 1024,
        },
      ]);
      assert.equal(byTask.get(b.id)?.atMs, minute0 + minuteMs, 'task b has one minute of figures');
      assert.equal(byTask.get(b.id)?.containers[0]?.cpuUsageCoreNanoSeconds, (64 / 1024) * 60e9);

      // More minutes come in: the counter only grows.
      await publish(
        taskA,
        [
          { cpuUnits: 0, memoryMiB: 95 },
          { cpuUnits: 128, memoryMiB: 96 },
        ],
        3,
      );
      const later = await readTaskStats(
        cloudwatch,
        call,
        ecsCluster,
        [{ ref: a, task: taskA }],
        nowMs + 2 * minuteMs,
      );
      const app = later[0]?.containers[0];
      assert.equal(later[0]?.atMs, minute0 + 5 * minuteMs);
      assert.equal(app?.cpuUsageCoreNanoSeconds, (0.5 + 0.25 + 1 + 0 + 0.125) * 60e9);
      assert.equal(app?.cpuUsageNanoCores, 0.125e9);
    });

    void it('leaves out tasks without figures, and refs ECS does not know, through the provider', async () => {
      const quiet = await runPod('stats-quiet');
      const task = await describeTask(quiet);
      assert.deepEqual(
        await readTaskStats(cloudwatch, awsCaller(), ecsCluster, [{ ref: quiet, task }], Date.now()),
        [],
      );
      const unknown = {
        provider: 'ecs' as const,
        id: `arn:aws:ecs:${region}:123456789012:task/${ecsCluster}/${'1'.repeat(32)}`,
        podUid: 'u',
      };
      assert.deepEqual(await provider().podStats([unknown, { ...quiet, podUid: 'someone-else' }]), []);
    });
  });
});

/**
 * The ECS on Fargate provider: one task per pod instance (pod UID + attempt), found again through
 * its node's `startedBy` and its tags, never through memory kept between invocations.
 */
import {
  DescribeClustersCommand,
  ECSClient,
  RunTaskCommand,
  StopTaskCommand,
  type ECSClientConfig,
  type Task,
} from '@aws-sdk/client-ecs';
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import type { EcsConfig } from '../../config.ts';
import {
  ConfigError,
  errorMessage,
  FuncletError,
  InvalidInputError,
  NotFoundError,
  ThrottledError,
} from '../../errors.ts';
import type { Logger } from '../../log.ts';
import { Setting } from '../../config.ts';
import type { ExecProvider, LogsProvider, Provider, StatsProvider } from '../provider.ts';
import type {
  CreatedInstance,
  LogChunk,
  LogRequest,
  NodeCapacity,
  PodStats,
  ProviderHealth,
  ProviderPodView,
  ProviderRef,
  ResolvedPod,
} from '../types.ts';
import { ecsExecRefusal } from './exec.ts';
import { decodeEcsLogCursor, readLogChunk, type EcsLogStream } from './logs.ts';
import { ecsContainerName, podContainerName, startedByFor, tagMap, TagKey, taskIdFromArn } from './naming.ts';
import { awsCaller, defaultRetryPolicy, type AwsCall, type RetryPolicy } from './retry.ts';
import { launchFor, runTaskInputFor } from './run-task.ts';
import {
  ensureTaskDefinition,
  releaseTaskDefinition,
  taskDefinitionStatus,
} from './task-definition-registry.ts';
import {
  fargateStopTimeoutSeconds,
  stopTimeoutFor,
  taskDefinitionFor,
  type TaskDefinitionSettings,
} from './task-definition.ts';
import { deletePodSecrets, needsSecrets, placeholderSecrets, storePodSecrets } from './pod-secrets.ts';
import { secretsManager, type SecretsManager } from './secrets-manager.ts';
import { readTaskStats } from './stats.ts';
import { podViewFromTask } from './task-status.ts';
import { describeTasks, listTaskArns } from './tasks.ts';

/** Static credentials or a provider of them; absent, the AWS SDK's standard chain applies. */
export type AwsCredentials = NonNullable<ECSClientConfig['credentials']>;

export interface EcsProviderDeps {
  /** Funclet's cluster name: the funclet-cluster tag that keeps two clusters sharing an account apart. */
  clusterName: string;
  logger: Logger;
  credentials?: AwsCredentials;
  /** Throttling retries; tests inject `sleep`. */
  retry?: Partial<RetryPolicy>;
  /** The clock podStats reads figures against. */
  now?: () => number;
}

/** Fargate has no node-sized limit; these are what the virtual node advertises unless the node's capacity settings override them. */
export const defaultEcsCapacity: NodeCapacity = {
  cpu: '10000',
  memory: '40Ti',
  pods: '5000',
  ephemeralStorage: '40Ti',
};

export function createEcsProvider(
  config: EcsConfig,
  deps: EcsProviderDeps,
): Provider & LogsProvider & StatsProvider & ExecProvider {
  checkConfig(config, deps);
  const clientConfig = {
    region: config.region,
    endpoint: config.endpoint,
    credentials: deps.credentials,
    // Throttling is retried by callWithRetry alone, inside its budget.
    maxAttempts: 1,
  };
  const ecs = new ECSClient(clientConfig);
  const log = deps.logger.child({ provider: 'ecs' });
  const call: AwsCall = awsCaller({ ...defaultRetryPolicy, ...deps.retry }, log);
  const cluster = config.cluster;
  const definitionSettings: TaskDefinitionSettings = {
    region: config.region,
    executionRoleArn: config.executionRoleArn,
    taskRoleArn: config.taskRoleArn,
    taskRoles: config.taskRoles,
    logGroup: config.logGroup,
  };
  let logsClient: Promise<CloudWatchLogsClient> | undefined;
  const logs = (): Promise<CloudWatchLogsClient> =>
    (logsClient ??= import('@aws-sdk/client-cloudwatch-logs').then(
      (m) => new m.CloudWatchLogsClient(clientConfig),
    ));

  // Container Insights metrics, for podStats only: its SDK loads on the first call.
  let cloudwatchClient: Promise<CloudWatchClient> | undefined;
  const cloudwatch = (): Promise<CloudWatchClient> =>
    (cloudwatchClient ??= import('@aws-sdk/client-cloudwatch').then(
      (m) => new m.CloudWatchClient(clientConfig),
    ));
  const now = deps.now ?? Date.now;
  /** The cluster's name, which Container Insights uses as a dimension (the setting may be an ARN). */
  const clusterShortName = cluster.slice(cluster.lastIndexOf('/') + 1);

  // Secrets Manager, for pods with Secret values or pull secrets (pod-secrets.ts).
  let secretsClient: SecretsManager | undefined;
  const secrets = (): SecretsManager =>
    (secretsClient ??= secretsManager({
      region: config.region,
      endpoint: config.endpoint,
      credentials: ecs.config.credentials,
    }));

  const describeOne = async (taskArn: string, doing: string): Promise<Task | undefined> =>
    (await describeTasks(ecs, call, cluster, [taskArn], doing))[0];

  /** The task already started for this pod UID and attempt, preferring one that is not stopped. */
  const existingTask = async (pod: ResolvedPod, forPod: string): Promise<Task | undefined> => {
    const arns = await listTaskArns(ecs, call, cluster, startedByFor(deps.clusterName, pod.node));
    const tasks = await describeTasks(
      ecs,
      call,
      cluster,
      arns,
      `describing the ECS tasks of node ${pod.node} for pod ${forPod}`,
    );
    const mine = tasks
      .filter((t) => {
        const tags = tagMap(t.tags);
        return (
          tags[TagKey.podUid] === pod.uid &&
          tags[TagKey.attempt] === String(pod.attempt) &&
          tags[TagKey.cluster] === deps.clusterName
        );
      })
      .sort(
        (a, b) =>
          Number(a.lastStatus === 'STOPPED') - Number(b.lastStatus === 'STOPPED') ||
          (a.taskArn ?? '').localeCompare(b.taskArn ?? ''),
      );
    return mine[0];
  };

  const runTask = async (pod: ResolvedPod, taskDefinitionArn: string, forPod: string): Promise<Task> => {
    const input = runTaskInputFor(pod, taskDefinitionArn, {
      cluster,
      clusterName: deps.clusterName,
      subnets: config.subnets,
      securityGroups: config.securityGroups,
      assignPublicIp: config.assignPublicIp,
    });
    const out = await call(`running the ECS task for pod ${forPod}`, () =>
      ecs.send(new RunTaskCommand(input)),
    );
    const task = out.tasks?.[0];
    if (task?.taskArn !== undefined) return task;
    const failure = out.failures?.[0];
    throw new FuncletError(
      `running the ECS task for pod ${forPod}: ECS started no task (${failure?.reason ?? 'no reason given'}${failure?.detail ? `: ${failure.detail}` : ''})`,
    );
  };

  /** The ref of the pod's task and the task as ECS just described it (RunTask answers with it). */
  const created = (pod: ResolvedPod, task: Task): CreatedInstance => {
    const { cut } = stopTimeoutFor(pod);
    return {
      provider: 'ecs',
      id: task.taskArn!,
      podUid: pod.uid,
      view: podViewFromTask(task),
      ...(cut === undefined ? {} : { warnings: [{ reason: 'GracePeriodCut', message: cut }] }),
    };
  };

  return {
    name: 'ecs',
    // Container Insights publishes one figure a minute.
    statsGrainMs: 60_000,
    // StopTask sends SIGTERM and waits each container's stopTimeout (set from the pod's
    // terminationGracePeriodSeconds when the task was defined) before SIGKILL; Fargate allows 120 s.
    gracePeriodLimit: {
      seconds: fargateStopTimeoutSeconds.max,
      why: `Fargate gives a container at most ${fargateStopTimeoutSeconds.max} s between SIGTERM and SIGKILL`,
    },

    async createPod(pod) {
      const forPod = `${pod.namespace}/${pod.name}`;
      const podLog = log.child({
        podNamespace: pod.namespace,
        podName: pod.name,
        podUid: pod.uid,
        node: pod.node,
      });
      const existing = await existingTask(pod, forPod);
      if (existing?.taskArn !== undefined) {
        podLog.debug('ECS task already exists', { taskArn: existing.taskArn, attempt: pod.attempt });
        return created(pod, existing);
      }
      // Decide everything that can be refused before touching AWS (placeholders for the secrets).
      const stored = needsSecrets(pod);
      taskDefinitionFor(
        pod,
        definitionSettings,
        stored ? await storePodSecrets(placeholderSecrets, pod, '-') : undefined,
      );
      launchFor(pod); // throws on a bad capacity-provider annotation
      const refs = stored
        ? await call(`storing the Secret values of pod ${forPod} in Secrets Manager`, () =>
            storePodSecrets(secrets(), pod, deps.clusterName),
          )
        : undefined;
      const definition = taskDefinitionFor(pod, definitionSettings, refs);

      let taskDefinitionArn = await ensureTaskDefinition(ecs, call, definition, forPod);
      let task: Task;
      try {
        task = await runTask(pod, taskDefinitionArn, forPod);
      } catch (err) {
        // A deletePod elsewhere may have deregistered the revision between lookup and RunTask.
        const status =
          err instanceof InvalidInputError
            ? await taskDefinitionStatus(ecs, call, taskDefinitionArn, forPod)
            : undefined;
        if (status?.status !== 'INACTIVE') throw err;
        taskDefinitionArn = await ensureTaskDefinition(ecs, call, definition, forPod);
        task = await runTask(pod, taskDefinitionArn, forPod);
      }
      podLog.info('started ECS task', {
        taskArn: task.taskArn,
        taskDefinition: taskDefinitionArn,
        attempt: pod.attempt,
      });
      return created(pod, task);
    },

    async deletePod(ref) {
      const task = await describeOne(ref.id, `describing ECS task ${ref.id} to delete it`);
      if (task === undefined) return;
      const tags = tagMap(task.tags);
      const forPod = `${tags[TagKey.namespace] ?? '?'}/${tags[TagKey.pod] ?? '?'}`;
      if (task.lastStatus !== 'STOPPED' && task.desiredStatus !== 'STOPPED') {
        await call(`stopping ECS task ${ref.id} for pod ${forPod}`, () =>
          ecs.send(
            new StopTaskCommand({
              cluster,
              task: ref.id,
              reason: `Deleted by Funclet: pod ${forPod} deleted`.slice(0, 255),
            }),
          ),
        );
        log.info('stopped ECS task', { taskArn: ref.id, podUid: ref.podUid });
      }
      // What the instance was given in Secrets Manager goes with it (and what earlier tries left).
      const attempt = Number(tags[TagKey.attempt]);
      if (tags[TagKey.podUid] !== undefined && Number.isInteger(attempt)) {
        await call(`deleting the Secrets Manager secrets of pod ${forPod}`, () =>
          deletePodSecrets(secrets(), deps.clusterName, tags[TagKey.podUid]!, attempt),
        );
      }
      if (task.taskDefinitionArn !== undefined) {
        await releaseTaskDefinition(ecs, call, cluster, task.taskDefinitionArn, log);
      }
    },

    async getPod(ref) {
      const task = await describeOne(ref.id, `describing ECS task ${ref.id}`);
      return task === undefined ? undefined : podViewFromTask(task);
    },

    async listPods(node): Promise<ProviderPodView[]> {
      const arns = await listTaskArns(ecs, call, cluster, startedByFor(deps.clusterName, node));
      const tasks = await describeTasks(ecs, call, cluster, arns, `describing the ECS tasks of node ${node}`);
      return tasks
        .filter((t) => {
          const tags = tagMap(t.tags);
          return tags[TagKey.node] === node && tags[TagKey.cluster] === deps.clusterName;
        })
        .map(podViewFromTask);
    },

    capacity(): Promise<NodeCapacity> {
      return Promise.resolve({ ...defaultEcsCapacity });
    },

    async health(): Promise<ProviderHealth> {
      try {
        const out = await call(`describing ECS cluster ${cluster}`, () =>
          ecs.send(new DescribeClustersCommand({ clusters: [cluster] })),
        );
        const status = out.clusters?.[0]?.status;
        if (status === 'ACTIVE') return { ok: true };
        return {
          ok: false,
          message:
            status === undefined
              ? `ECS cluster ${cluster} does not exist`
              : `ECS cluster ${cluster} is ${status}`,
        };
      } catch (err) {
        // Being throttled says nothing about ECS's health: marking the node NotReady for it would
        // get its pods evicted. The caller keeps the last known condition and asks again later.
        if (err instanceof ThrottledError) throw err;
        return { ok: false, message: `cannot reach ECS: ${errorMessage(err)}` };
      }
    },

    /** Always refused, with the AWS CLI command that reaches the container (exec.ts). */
    execSession(ref, container, command) {
      return Promise.reject(ecsExecRefusal(config.region, cluster, ref, container, command));
    },

    async containerLogs(ref: ProviderRef, container: string, request: LogRequest): Promise<LogChunk> {
      if (config.logGroup === undefined) {
        throw new NotFoundError(`no logs are kept for ECS tasks: ${Setting.ecsLogGroup} is not set`);
      }
      const taskId = taskIdFromArn(ref.id);
      let stream: EcsLogStream;
      if (request.cursor !== undefined) {
        // A cursor names its stream, so following needs no DescribeTasks; it must be this container's.
        const cursor = decodeEcsLogCursor(request.cursor);
        if (podContainerName(cursor.ecsContainer).name !== container) {
          throw new InvalidInputError(`the log cursor is for another container than ${container}`);
        }
        stream = {
          group: config.logGroup,
          namespace: cursor.namespace,
          ecsContainer: cursor.ecsContainer,
          taskId,
        };
      } else {
        const task = await describeOne(ref.id, `describing ECS task ${ref.id} for its logs`);
        const tags = tagMap(task?.tags);
        if (task === undefined || tags[TagKey.podUid] !== ref.podUid) {
          throw new NotFoundError(`ECS task ${ref.id} no longer exists`);
        }
        // ECS names init containers init_<name>; DescribeTasks lists every container of a real task.
        const ecsContainer =
          (task.containers ?? [])
            .map((c) => c.name ?? '')
            .find((n) => podContainerName(n).name === container) ?? ecsContainerName(container, 'app');
        stream = { group: config.logGroup, namespace: tags[TagKey.namespace] ?? '', ecsContainer, taskId };
      }
      return readLogChunk(await logs(), call, stream, request);
    },

    async podStats(refs: readonly ProviderRef[]): Promise<PodStats[]> {
      const tasks = await describeTasks(
        ecs,
        call,
        cluster,
        refs.map((r) => r.id),
        `describing ${refs.length} ECS tasks for their figures`,
      );
      const byArn = new Map(tasks.map((t) => [t.taskArn, t]));
      const asked = refs.flatMap((ref) => {
        const task = byArn.get(ref.id);
        return task !== undefined && tagMap(task.tags)[TagKey.podUid] === ref.podUid ? [{ ref, task }] : [];
      });
      if (asked.length === 0) return [];
      return readTaskStats(await cloudwatch(), call, clusterShortName, asked, now());
    },
  };
}

function checkConfig(config: EcsConfig, deps: EcsProviderDeps): void {
  const problems: { setting: string; problem: string }[] = [];
  if (config.cluster === '') problems.push({ setting: Setting.ecsCluster, problem: 'is required' });
  if (config.region === '') problems.push({ setting: Setting.ecsRegion, problem: 'is required' });
  if (config.subnets.length === 0)
    problems.push({ setting: Setting.ecsSubnets, problem: 'needs at least one subnet id' });
  if (config.logGroup !== undefined && config.executionRoleArn === undefined) {
    problems.push({
      setting: Setting.ecsExecutionRoleArn,
      problem: `is required when ${Setting.ecsLogGroup} is set: Fargate writes awslogs with the task execution role`,
    });
  }
  if (deps.clusterName === '') problems.push({ setting: Setting.clusterName, problem: 'is required' });
  if (problems.length > 0) throw new ConfigError(problems);
}

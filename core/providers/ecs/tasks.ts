/**
 * Reading tasks back from ECS: every task one virtual node started, and DescribeTasks in batches.
 */
import { DescribeTasksCommand, ListTasksCommand, type ECSClient, type Task } from '@aws-sdk/client-ecs';
import type { AwsCall } from './retry.ts';

/** DescribeTasks takes at most 100 tasks per call. */
const describeBatch = 100;

/**
 * Every task started for the node (`startedBy`), running ones first and then those ECS still
 * shows as stopped (about an hour), so that a pod's terminal state is seen. Listing RUNNING before
 * STOPPED means a task that stops in between is still caught by the second listing.
 */
export async function listTaskArns(
  ecs: ECSClient,
  call: AwsCall,
  cluster: string,
  startedBy: string,
): Promise<string[]> {
  const arns = new Set<string>();
  for (const desiredStatus of ['RUNNING', 'STOPPED'] as const) {
    let nextToken: string | undefined;
    do {
      const page = await call(`listing ${desiredStatus} ECS tasks started by ${startedBy}`, () =>
        ecs.send(new ListTasksCommand({ cluster, startedBy, desiredStatus, maxResults: 100, nextToken })),
      );
      for (const arn of page.taskArns ?? []) arns.add(arn);
      nextToken = page.nextToken;
    } while (nextToken !== undefined && nextToken !== '');
  }
  return [...arns];
}

/** The tasks with their tags; tasks ECS no longer knows are simply absent. */
export async function describeTasks(
  ecs: ECSClient,
  call: AwsCall,
  cluster: string,
  taskArns: readonly string[],
  doing: string,
): Promise<Task[]> {
  const out: Task[] = [];
  for (let i = 0; i < taskArns.length; i += describeBatch) {
    const batch = taskArns.slice(i, i + describeBatch);
    const page = await call(doing, () =>
      ecs.send(new DescribeTasksCommand({ cluster, tasks: batch, include: ['TAGS'] })),
    );
    // Only the tasks asked for: ECS answers MISSING in `failures` for the others.
    const wanted = new Set(batch);
    out.push(...(page.tasks ?? []).filter((t) => t.taskArn !== undefined && wanted.has(t.taskArn)));
  }
  return out;
}

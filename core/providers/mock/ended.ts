/**
 * Deleted mock instances stay readable for `kubectl logs --previous`, as the kubelet keeps a
 * restarted container's log: deletePod copies the row to the `~ended` partition (row key: the
 * instance id) with the time of deletion, then deletes it. listPods and getPod read node
 * partitions only, so a kept copy is never mistaken for a running instance. Only the latest
 * deleted attempt of a pod is kept (the kubelet keeps one previous run too): deleting attempt n
 * drops the copy of attempt n - 1. The copy of a pod's last attempt stays in the table; the mock
 * is for tests and local runs, whose tables are short-lived.
 */
import type { TableClient } from '@azure/data-tables';
import { isTableStatus } from '../../state/tables.ts';
import { instanceId, instanceRowKey, type MockInstance } from './instances.ts';

export const endedPartition = '~ended';

/** Keeps a copy of the instance as it was deleted at `nowMs`. */
export async function keepEnded(table: TableClient, instance: MockInstance, nowMs: number): Promise<void> {
  const {
    partitionKey: _p,
    rowKey: _r,
    etag: _e,
    timestamp: _t,
    ...fields
  } = instance as MockInstance & Record<string, unknown>;
  await table.upsertEntity(
    {
      ...fields,
      partitionKey: endedPartition,
      rowKey: instanceId(instance.node, instance.id),
      deletedAtMs: instance.deletedAtMs ?? nowMs,
    },
    'Replace',
  );
}

/** The kept copy of a deleted instance, or undefined. */
export async function findEnded(table: TableClient, id: string): Promise<MockInstance | undefined> {
  try {
    return await table.getEntity<MockInstance>(endedPartition, id);
  } catch (err) {
    if (isTableStatus(err, 404)) return undefined;
    throw err;
  }
}

/** Drops the copy of the attempt before this instance's. */
export async function pruneEnded(table: TableClient, instance: MockInstance): Promise<void> {
  if (instance.attempt === 0) return;
  const previous = instanceId(instance.node, instanceRowKey(instance.podUid, instance.attempt - 1));
  try {
    await table.deleteEntity(endedPartition, previous);
  } catch (err) {
    if (!isTableStatus(err, 404)) throw err;
  }
}

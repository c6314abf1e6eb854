/**
 * `kubectl exec` on the mock, made like ACI's executeCommand: the provider writes a session row
 * (which instance and container, the terminal's size, a hash of a one-time password) into the
 * mock's table and answers the exec server's URL for it with the password; the exec server
 * (execServer.ts) claims the row when a socket presents the password, once, within a minute.
 * The row is the only link between the two, as ACI's session is between its API and its socket:
 * the function that made the session and the process serving it need share nothing else.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { TableClient } from '@azure/data-tables';
import { isTableStatus } from '../../state/tables.ts';
import { terminalScript, terminalShell } from '../exec-terminal.ts';
import type { ExecSession, ExecSessionOptions } from '../provider.ts';

/** The table partition of session rows; instance rows are partitioned by node. */
export const execSessionPartition = '~exec';
/** A session not claimed within this long is refused. */
export const execSessionTtlMs = 60_000;

export interface MockExecSessionRow {
  /** The instance's row (its node is its partition). */
  instanceNode: string;
  instanceRow: string;
  podUid: string;
  container: string;
  /** What executeCommand starts: one program, no arguments. */
  command: string;
  rows: number;
  cols: number;
  passwordSha256: string;
  createdAtMs: number;
}

export async function createMockExecSession(
  table: TableClient,
  execUrl: string,
  instance: { node: string; id: string; podUid: string },
  container: string,
  command: readonly string[],
  options: ExecSessionOptions,
  nowMs: number,
): Promise<ExecSession> {
  const id = randomBytes(16).toString('hex');
  const password = randomBytes(24).toString('base64url');
  const row: MockExecSessionRow = {
    instanceNode: instance.node,
    instanceRow: instance.id,
    podUid: instance.podUid,
    container,
    command: terminalShell,
    rows: options.terminalSize?.rows ?? 24,
    cols: options.terminalSize?.cols ?? 80,
    passwordSha256: sha256(password),
    createdAtMs: nowMs,
  };
  await table.createEntity({ partitionKey: execSessionPartition, rowKey: id, ...row });
  return {
    url: `${execUrl}/exec/${id}`,
    password,
    ...terminalScript(command, { tty: options.tty, stdin: options.stdin }),
  };
}

/**
 * The session for `id` if `password` is its own and it is fresh; it is removed in the same step
 * (ETag-guarded), so a session serves one socket only.
 */
export async function claimMockExecSession(
  table: TableClient,
  id: string,
  password: string,
  nowMs: number,
): Promise<MockExecSessionRow | undefined> {
  if (!/^[0-9a-f]{32}$/.test(id)) return undefined;
  let row: MockExecSessionRow & { etag: string };
  try {
    row = await table.getEntity<MockExecSessionRow>(execSessionPartition, id);
  } catch (err) {
    if (isTableStatus(err, 404)) return undefined;
    throw err;
  }
  const given = Buffer.from(sha256(password), 'hex');
  const expected = Buffer.from(row.passwordSha256, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  try {
    await table.deleteEntity(execSessionPartition, id, { etag: row.etag });
  } catch (err) {
    if (isTableStatus(err, 404) || isTableStatus(err, 412)) return undefined;
    throw err;
  }
  return nowMs - row.createdAtMs <= execSessionTtlMs ? row : undefined;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * `kubectl exec` on ACI: executeCommand starts one process in the container, with no arguments,
 * on a terminal of the size given, and answers a WebSocket URI and a password for it
 * (learn.microsoft.com: "Execute a command in a running Azure container instance"; Containers -
 * Execute Command). The process is the container's /bin/sh, into which the relay types the
 * command with its arguments (exec-terminal.ts), so that arguments, stdin's end, stderr and the
 * exit status survive what ACI itself cannot carry. Only the session's URI and password leave the
 * function; the ARM credential never does.
 */
import type { ContainerInstanceManagementClient } from '@azure/arm-containerinstance';
import { FuncletError } from '../../errors.ts';
import { terminalScript, terminalShell } from '../exec-terminal.ts';
import type { ExecSession, ExecSessionOptions } from '../provider.ts';
import type { ProviderRef } from '../types.ts';

/** ACI's default for a terminal nobody sized (az container exec uses the caller's). */
const defaultSize = { rows: 24, cols: 80 };

export async function aciExecSession(
  call: <T>(action: string, fn: (c: ContainerInstanceManagementClient) => Promise<T>) => Promise<T>,
  resourceGroup: string,
  ref: ProviderRef,
  container: string,
  command: readonly string[],
  options: ExecSessionOptions,
): Promise<ExecSession> {
  const size = options.terminalSize ?? defaultSize;
  const answer = await call(
    `starting an exec session in container ${container} of container group ${ref.id}`,
    (c) =>
      c.containers.executeCommand(resourceGroup, ref.id, container, {
        command: terminalShell,
        terminalSize: { rows: size.rows, cols: size.cols },
      }),
  );
  if (answer.webSocketUri === undefined || answer.password === undefined)
    throw new FuncletError(
      `ACI answered executeCommand for container group ${ref.id} without a WebSocket URI or password`,
    );
  return {
    url: answer.webSocketUri,
    password: answer.password,
    ...terminalScript(command, { tty: options.tty, stdin: options.stdin }),
  };
}

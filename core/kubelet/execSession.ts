/**
 * `kubectl exec` on the function side: check the pod is bound to this node and the container is
 * in its spec and running, then ask the provider for a terminal session and hand the relay what
 * it needs to bridge it (the session's socket, its one-time password, the line to type). The
 * provider's own credentials never leave the function.
 */
import { InvalidInputError, NotFoundError } from '../errors.ts';
import { terminalCommandProblem } from '../providers/exec-terminal.ts';
import { hasExec } from '../providers/provider.ts';
import type { ContainerView, ProviderRef } from '../providers/types.ts';
import { readPodOnNode } from './containerLogs.ts';
import { KubeletApiRefusal, type KubeletDeps } from './deps.ts';
import type { ExecSessionAnswer, ExecSessionRequest } from './protocol.ts';

export async function execSession(
  deps: KubeletDeps,
  request: ExecSessionRequest,
): Promise<ExecSessionAnswer> {
  const { provider } = deps;
  if (!hasExec(provider))
    throw new KubeletApiRefusal(501, `the ${provider.name} provider cannot run commands in containers`);
  const pod = await readPodOnNode(deps, request.namespace, request.pod);
  const uid = pod.metadata?.uid ?? '';
  const inSpec = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].some(
    (c) => c.name === request.container,
  );
  if (!inSpec) throw new KubeletApiRefusal(404, `container not found ("${request.container}")`);
  const problem = terminalCommandProblem(request.command);
  if (problem !== undefined) throw new KubeletApiRefusal(400, `cannot run the command: ${problem}`);

  const record = await deps.pods.get(deps.node.name, uid);
  if (record?.providerId === undefined)
    throw new KubeletApiRefusal(
      400,
      `container "${request.container}" in pod "${request.pod}" is not running yet`,
    );
  const ref: ProviderRef = { provider: provider.name, id: record.providerId, podUid: uid };
  const view = await provider.getPod(ref);
  const container = [...(view?.containers ?? []), ...(view?.initContainers ?? [])].find(
    (c) => c.name === request.container,
  );
  if (container === undefined || !('running' in container.state))
    throw new KubeletApiRefusal(
      400,
      `container "${request.container}" in pod "${request.pod}" is not running${stateNote(container)}`,
    );

  try {
    return await provider.execSession(ref, request.container, request.command, {
      tty: request.tty,
      stdin: request.stdin,
      terminalSize: request.terminalSize,
    });
  } catch (err) {
    if (err instanceof NotFoundError) throw new KubeletApiRefusal(404, err.message);
    if (err instanceof InvalidInputError) throw new KubeletApiRefusal(400, err.message);
    throw err;
  }
}

function stateNote(container: ContainerView | undefined): string {
  if (container === undefined) return ': its instance is gone';
  const state = container.state;
  if ('waiting' in state) return ` (waiting: ${state.waiting.reason})`;
  if ('terminated' in state) return ` (terminated with exit code ${state.terminated.exitCode})`;
  return '';
}

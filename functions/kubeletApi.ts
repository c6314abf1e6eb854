import { announceEndpoint } from '../core/kubelet/announce.ts';
import { containerLogs } from '../core/kubelet/containerLogs.ts';
import { execSession } from '../core/kubelet/execSession.ts';
import { KubeletApiRefusal, type KubeletDeps } from '../core/kubelet/deps.ts';
import { parseKubeletApiRequest } from '../core/kubelet/protocol.ts';
import { statsSummary } from '../core/kubelet/statsSummary.ts';
import { errorMessage } from '../core/errors.ts';
import { readCappedBody } from '../core/relay/body.ts';
import { signatureHeader, verify } from '../core/relay/protocol.ts';
import { NodeRecords } from '../core/state/nodeRecords.ts';
import { PodRecords } from '../core/state/podRecords.ts';
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from './azure.ts';
import { invocationLogger, runtimeFor, sharedRuntime, type RuntimeSource } from './runtime.ts';

/** Requests carry identifiers and options only. */
const maxBodyBytes = 64 * 1024;

/**
 * The relay's kubelet endpoint forwards here what needs the provider: container logs, stats, exec
 * sessions, and its own announcements. The relay has already authenticated and authorized the caller;
 * this function trusts the signature for no more than the node, pod and container it names,
 * and checks those against the API server. Refuses without touching anything: 401 for a bad
 * signature, 413 for a large body, 400 for a malformed one or a node not served here.
 */
export function kubeletApiHandler(source: RuntimeSource = sharedRuntime) {
  return async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    const logger = invocationLogger(context);
    const runtime = runtimeFor(source, logger);
    const secret = runtime.config.webhookSecret;
    if (secret === undefined) {
      logger.error('kubeletApi is called but FUNCLET_WEBHOOK_SECRET is not set');
      return { status: 503, jsonBody: { error: 'kubelet API not configured' } };
    }
    const read = await readCappedBody(request.body, request.headers.get('content-length'), maxBodyBytes);
    if (!read.ok) return refuse(logger, 413, read.problem);
    const body = read.text;
    const verification = verify([secret], body, request.headers.get(signatureHeader), runtime.now());
    if (!verification.ok) return refuse(logger, 401, verification.problem);
    const parsed = parseKubeletApiRequest(body);
    if (!parsed.ok) return refuse(logger, 400, parsed.problem);
    const kubeletRequest = parsed.request;
    const node = runtime.config.nodes.find((n) => n.name === kubeletRequest.node);
    if (!node) return refuse(logger, 400, `node ${kubeletRequest.node} is not served here`);

    const log = logger.child({
      node: node.name,
      provider: node.provider,
      ...(kubeletRequest.op === 'containerLogs' || kubeletRequest.op === 'execSession'
        ? { podNamespace: kubeletRequest.namespace, podName: kubeletRequest.pod }
        : {}),
    });
    const deps: KubeletDeps = {
      kube: runtime.kubeFor(node.name),
      provider: await runtime.provider(node.provider, log),
      pods: new PodRecords(await runtime.tables.table('pods')),
      nodes: new NodeRecords(await runtime.tables.table('nodes')),
      node,
      now: runtime.now,
      logger: log,
    };
    try {
      switch (kubeletRequest.op) {
        case 'announce':
          return { status: 200, jsonBody: await announceEndpoint(deps, kubeletRequest) };
        case 'containerLogs':
          return { status: 200, jsonBody: await containerLogs(deps, kubeletRequest) };
        case 'statsSummary':
          return { status: 200, jsonBody: await statsSummary(deps) };
        case 'execSession': {
          const session = await execSession(deps, kubeletRequest);
          // The command is the caller's; the session's password is not logged.
          log.info('exec session started', { container: kubeletRequest.container, tty: kubeletRequest.tty });
          return { status: 200, jsonBody: session };
        }
      }
    } catch (err) {
      if (err instanceof KubeletApiRefusal) {
        log.info('kubelet API request refused', {
          op: kubeletRequest.op,
          status: err.status,
          problem: err.message,
        });
        return { status: err.status, jsonBody: { error: err.message } };
      }
      log.error('kubelet API request failed', { op: kubeletRequest.op, error: err });
      return { status: 502, jsonBody: { error: `${kubeletRequest.op} failed: ${errorMessage(err)}` } };
    }
  };
}

function refuse(
  logger: ReturnType<typeof invocationLogger>,
  status: number,
  problem: string,
): HttpResponseInit {
  logger.warn('kubelet API request refused', { status, problem });
  return { status, jsonBody: { error: problem } };
}

export const kubeletApi = kubeletApiHandler();

app.http('kubeletApi', { methods: ['POST'], authLevel: 'function', handler: kubeletApi });

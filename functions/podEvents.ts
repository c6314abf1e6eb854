import { handlePokes, rechecksFor } from '../core/pods/pokes.ts';
import {
  maxBodyBytes,
  parseBatch,
  signatureHeader,
  verify,
  type PokeResponse,
} from '../core/relay/protocol.ts';
import { readCappedBody } from '../core/relay/body.ts';
import { tracePokeBatch } from '../core/telemetry/podSpans.ts';
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from './azure.ts';
import { invocationLogger, podDeps, runtimeFor, sharedRuntime, type RuntimeSource } from './runtime.ts';

const pokeConcurrency = 32;
/**
 * No poke is started later than this into an invocation: the rest are handed back for the relay
 * to send again, so that a batch is answered well within the relay's per-attempt timeout (10 s
 * by default) and is never sent again whole, work done included, because it took too long.
 */
export const pokeBudgetMs = 5_000;

/**
 * The relay's webhook. Refuses, without touching anything: 401 for a missing, wrong or stale
 * signature, 413 for a body over the cap, 400 for a malformed body or an unknown node.
 * Answers 200 once every poke is reconciled, remembered for the next resync, or handed back
 * unstarted (`resend`, when the time budget ran out), 503 otherwise (the relay retries).
 */
export function podEventsHandler(
  source: RuntimeSource = sharedRuntime,
  options = { budgetMs: pokeBudgetMs },
) {
  return async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    const logger = invocationLogger(context);
    const runtime = runtimeFor(source, logger);
    const deadlineMs = runtime.now() + options.budgetMs;
    const secret = runtime.config.webhookSecret;
    if (secret === undefined) {
      logger.error('podEvents is called but FUNCLET_WEBHOOK_SECRET is not set');
      return { status: 503, jsonBody: { error: 'webhook not configured' } };
    }
    const read = await readCappedBody(request.body, request.headers.get('content-length'), maxBodyBytes);
    if (!read.ok) return refuse(logger, 413, read.problem);
    const body = read.text;

    const verification = verify([secret], body, request.headers.get(signatureHeader), runtime.now());
    if (!verification.ok) return refuse(logger, 401, verification.problem);
    const parsed = parseBatch(body);
    if (!parsed.ok) return refuse(logger, 400, parsed.problem);
    const node = runtime.config.nodes.find((n) => n.name === parsed.batch.node);
    if (!node) return refuse(logger, 400, `node ${parsed.batch.node} is not served here`);

    const log = logger.child({ node: node.name, provider: node.provider });
    const deps = await podDeps(runtime, node, log);
    const batch = { node: node.name, provider: node.provider, invocationId: context.invocationId };
    const { results, notStarted } = await tracePokeBatch(
      { ...batch, pokes: parsed.batch.events.length },
      () => handlePokes(deps, parsed.batch.events, pokeConcurrency, { deadlineMs }),
    );
    const failed = results.filter((r) => r.status === 'failed').length;
    log.info('pod events handled', {
      pokes: parsed.batch.events.length,
      reconciled: results.filter((r) => r.status === 'reconciled').length,
      skipped: results.filter((r) => r.status === 'skipped').length,
      deferred: results.filter((r) => r.status === 'deferred').length,
      failed,
      resend: notStarted.length,
    });
    const response: PokeResponse = {
      results,
      recheck: rechecksFor(parsed.batch.events, results),
      ...(notStarted.length > 0 ? { resend: notStarted.map((p) => p.uid) } : {}),
    };
    return { status: failed > 0 ? 503 : 200, jsonBody: response };
  };
}

function refuse(
  logger: ReturnType<typeof invocationLogger>,
  status: number,
  problem: string,
): HttpResponseInit {
  logger.warn('pod events request refused', { status, problem });
  return { status, jsonBody: { error: problem } };
}

export const podEvents = podEventsHandler();

app.http('podEvents', { methods: ['POST'], authLevel: 'function', handler: podEvents });

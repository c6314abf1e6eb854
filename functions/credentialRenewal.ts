import { errorMessage } from '../core/errors.ts';
import { renewNodeCredential } from '../core/node/credentialRenewal.ts';
import { app, type InvocationContext, type Timer } from './azure.ts';
import { invocationLogger, runtimeFor, sharedRuntime, type RuntimeSource } from './runtime.ts';

/** Every 15 minutes: renew each virtual node's certificate (or the fallback's token) past 70% of its life. */
export const credentialRenewalSchedule = '0 */15 * * * *';

/**
 * One node after the other, not at once: each renewal rewrites the one kubeconfig all nodes
 * share, and a renewal written over by another would have to be made again. A node whose
 * renewal fails is logged; the invocation fails afterwards, naming it, and the next one retries.
 */
export function credentialRenewalHandler(source: RuntimeSource = sharedRuntime) {
  return async (_timer: Timer, context: InvocationContext): Promise<void> => {
    const logger = invocationLogger(context);
    const runtime = runtimeFor(source, logger);
    const failed: string[] = [];
    for (const node of runtime.config.nodes) {
      const log = logger.child({ node: node.name, provider: node.provider });
      try {
        const renewal = await renewNodeCredential(
          {
            kube: runtime.kubeFor(node.name),
            store: runtime.kubeconfigStore,
            current: runtime.kubeconfig(),
            use: (text) => runtime.useKubeconfig(text),
            now: runtime.now,
            logger: log,
          },
          node.name,
        );
        if (renewal)
          log.debug('node credential checked', {
            credential: renewal.credential,
            renewed: renewal.renewed,
            expiresAt: new Date(renewal.expiresAtMs).toISOString(),
          });
      } catch (err) {
        log.error('node credential renewal failed', { error: err });
        failed.push(`${node.name} (${errorMessage(err)})`);
      }
    }
    if (failed.length > 0) throw new Error(`credential renewal failed for ${failed.join('; ')}`);
  };
}

export const credentialRenewal = credentialRenewalHandler();

app.timer('credentialRenewal', { schedule: credentialRenewalSchedule, handler: credentialRenewal });

import type { VirtualNodeConfig } from '../config.ts';
import { errorMessage } from '../errors.ts';
import type { Logger } from '../log.ts';

export interface NodeOutcome<T> {
  node: string;
  ok: boolean;
  result?: T;
  error?: string;
}

/**
 * Runs `work` for every configured node at once. One node's failure is logged and does not stop
 * the others; the caller learns which failed and can fail the invocation after all have run.
 */
export async function forEachNode<T>(
  nodes: readonly VirtualNodeConfig[],
  logger: Logger,
  work: (node: VirtualNodeConfig, logger: Logger) => Promise<T>,
): Promise<NodeOutcome<T>[]> {
  return Promise.all(
    nodes.map(async (node) => {
      const log = logger.child({ node: node.name, provider: node.provider });
      try {
        return { node: node.name, ok: true, result: await work(node, log) };
      } catch (err) {
        log.error('node operation failed', { error: err });
        return { node: node.name, ok: false, error: errorMessage(err) };
      }
    }),
  );
}

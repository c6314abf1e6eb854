import type { VirtualNodeConfig } from '../config.ts';
import type { KubeClients } from '../kube/clients.ts';
import type { Logger } from '../log.ts';
import type { Provider } from '../providers/provider.ts';
import type { NodeRecords } from '../state/nodeRecords.ts';
import type { PodRecords } from '../state/podRecords.ts';

/** What answering one kubelet API request for one node needs; built per invocation. */
export interface KubeletDeps {
  kube: KubeClients;
  provider: Provider;
  pods: PodRecords;
  nodes: NodeRecords;
  node: VirtualNodeConfig;
  now: () => number;
  logger: Logger;
}

/** A refusal with the HTTP status a kubelet would answer, and its message for the caller. */
export class KubeletApiRefusal extends Error {
  override readonly name = 'KubeletApiRefusal';
  readonly status: 400 | 404 | 501;

  constructor(status: 400 | 404 | 501, message: string) {
    super(message);
    this.status = status;
  }
}

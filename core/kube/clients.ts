import {
  CoordinationV1Api,
  CoreV1Api,
  EventsV1Api,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
} from '@kubernetes/client-node';

/** The API groups Funclet calls, built from one KubeConfig. */
export interface KubeClients {
  readonly config: KubeConfig;
  readonly core: CoreV1Api;
  readonly coordination: CoordinationV1Api;
  readonly events: EventsV1Api;
}

export function kubeClients(config: KubeConfig): KubeClients {
  return {
    config,
    core: config.makeApiClient(CoreV1Api),
    coordination: config.makeApiClient(CoordinationV1Api),
    events: config.makeApiClient(EventsV1Api),
  };
}

/** Request options that send a patch body as a JSON merge patch (RFC 7386). */
export const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
/** Request options that send a patch body as a strategic merge patch. */
export const strategicMergePatch = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);

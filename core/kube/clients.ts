import {
  CertificatesV1Api,
  CoordinationV1Api,
  CoreV1Api,
  createConfiguration,
  Observable,
  EventsV1Api,
  PatchStrategy,
  ServerConfiguration,
  setHeaderMiddleware,
  setHeaderOptions,
  type KubeConfig,
} from '@kubernetes/client-node';
import { funcletVersion } from '../version.ts';
import { retryOnThrottle } from './throttleRetry.ts';

/** Sees every API server request as it is sent (for counting in benchmarks). */
export type KubeRequestObserver = (method: string, url: string) => void;

/** The API groups Funclet calls, built from one KubeConfig. */
export interface KubeClients {
  readonly config: KubeConfig;
  readonly core: CoreV1Api;
  readonly coordination: CoordinationV1Api;
  readonly events: EventsV1Api;
  /** CertificateSigningRequests: a node renewing its own client certificate. */
  readonly certificates: CertificatesV1Api;
}

export function kubeClients(config: KubeConfig, observe?: KubeRequestObserver): KubeClients {
  const cluster = config.getCurrentCluster();
  if (!cluster) throw new Error('the kubeconfig has no current cluster');
  const middleware = [setHeaderMiddleware('User-Agent', `funclet/${funcletVersion}`)];
  if (observe) {
    middleware.push({
      pre: (request) => {
        observe(request.getHttpMethod(), request.getUrl());
        return new Observable(Promise.resolve(request));
      },
      post: (response) => new Observable(Promise.resolve(response)),
    });
  }
  const baseServer = new ServerConfiguration(cluster.server, {});
  const authMethods = { default: config };
  // The library's own HTTP client (undici), sending again what the API server turned away with 429.
  const httpApi = retryOnThrottle(createConfiguration({ baseServer, authMethods }).httpApi, {
    onRetry: observe ? (request) => observe(request.getHttpMethod(), request.getUrl()) : undefined,
  });
  const configuration = createConfiguration({ baseServer, authMethods, middleware, httpApi });
  return {
    config,
    core: new CoreV1Api(configuration),
    coordination: new CoordinationV1Api(configuration),
    events: new EventsV1Api(configuration),
    certificates: new CertificatesV1Api(configuration),
  };
}

/** Request options that send a patch body as a JSON merge patch (RFC 7386). */
export const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
/** Request options that send a patch body as a strategic merge patch. */
export const strategicMergePatch = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);

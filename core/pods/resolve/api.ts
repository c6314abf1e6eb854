/**
 * What pod resolution reads from the API server, and the real implementation over client-node.
 * Nothing here caches beyond one resolution pass (`perPass`): any function instance may be new,
 * and a ConfigMap edited between two passes must be seen by the second.
 */
import type { V1ConfigMap, V1Secret, V1Service } from '@kubernetes/client-node';
import { FuncletError } from '../../errors.ts';
import type { KubeClients } from '../../kube/clients.ts';
import { apiStatus, kubeError } from '../../kube/errors.ts';

export interface TokenRequest {
  /** Omitted: the API server's own audiences. */
  audience?: string;
  expirationSeconds: number;
  /** The token is bound to this pod: it stops validating once the pod is gone. */
  podName: string;
  podUid: string;
}

export interface ResolverApi {
  /** undefined when the ConfigMap does not exist; any other failure throws. */
  getConfigMap(namespace: string, name: string): Promise<V1ConfigMap | undefined>;
  /** undefined when the Secret does not exist; any other failure throws. */
  getSecret(namespace: string, name: string): Promise<V1Secret | undefined>;
  /** Every Service in the namespace. */
  listServices(namespace: string): Promise<V1Service[]>;
  /** A TokenRequest for the ServiceAccount, bound to the pod; returns the JWT. */
  serviceAccountToken(namespace: string, serviceAccount: string, request: TokenRequest): Promise<string>;
}

const servicePageSize = 500;

/** The ResolverApi over the API server, with the function's own (ServiceAccount) credentials. */
export function kubeResolverApi(kube: KubeClients): ResolverApi {
  const { core } = kube;
  return {
    async getConfigMap(namespace, name) {
      try {
        return await core.readNamespacedConfigMap({ name, namespace });
      } catch (err) {
        if (apiStatus(err) === 404) return undefined;
        throw kubeError(err, `reading ConfigMap ${namespace}/${name}`);
      }
    },
    async getSecret(namespace, name) {
      try {
        return await core.readNamespacedSecret({ name, namespace });
      } catch (err) {
        if (apiStatus(err) === 404) return undefined;
        throw kubeError(err, `reading Secret ${namespace}/${name}`);
      }
    },
    async listServices(namespace) {
      const services: V1Service[] = [];
      let next: string | undefined;
      do {
        try {
          const page = await core.listNamespacedService({
            namespace,
            limit: servicePageSize,
            _continue: next,
          });
          services.push(...page.items);
          next = page.metadata?._continue || undefined;
        } catch (err) {
          throw kubeError(err, `listing Services in namespace ${namespace}`);
        }
      } while (next);
      return services;
    },
    async serviceAccountToken(namespace, serviceAccount, request) {
      let token: string | undefined;
      try {
        const response = await core.createNamespacedServiceAccountToken({
          name: serviceAccount,
          namespace,
          body: {
            spec: {
              audiences: request.audience ? [request.audience] : [],
              expirationSeconds: request.expirationSeconds,
              boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: request.podName, uid: request.podUid },
            },
          },
        });
        token = response.status?.token;
      } catch (err) {
        throw kubeError(
          err,
          `requesting a token of ServiceAccount ${namespace}/${serviceAccount} for pod ${request.podName}`,
        );
      }
      if (!token) {
        throw new FuncletError(
          `the TokenRequest for ServiceAccount ${namespace}/${serviceAccount} returned no token`,
        );
      }
      return token;
    },
  };
}

/**
 * Wraps an api so that one resolution pass reads each ConfigMap, Secret and Service list once,
 * however many containers and volumes refer to it. Build one per pass and drop it afterwards.
 * Tokens are not shared: each projection gets its own.
 */
export function perPass(api: ResolverApi): ResolverApi {
  const memo = new Map<string, Promise<unknown>>();
  const once = <T>(key: string, load: () => Promise<T>): Promise<T> => {
    let pending = memo.get(key) as Promise<T> | undefined;
    if (!pending) {
      pending = load();
      memo.set(key, pending);
      // A failed read is not remembered: the next pod of the pass asks again.
      pending.catch(() => memo.delete(key));
    }
    return pending;
  };
  return {
    getConfigMap: (namespace, name) =>
      once(`configmap/${namespace}/${name}`, () => api.getConfigMap(namespace, name)),
    getSecret: (namespace, name) => once(`secret/${namespace}/${name}`, () => api.getSecret(namespace, name)),
    listServices: (namespace) => once(`services/${namespace}`, () => api.listServices(namespace)),
    serviceAccountToken: (namespace, serviceAccount, request) =>
      api.serviceAccountToken(namespace, serviceAccount, request),
  };
}

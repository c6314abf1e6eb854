/**
 * The relay's kubelet endpoints, put together from its own ServiceAccount: the client CA from
 * kube-system/extension-apiserver-authentication, TokenReview and SubjectAccessReview for
 * callers, the pods of its nodes, and the kubeletApi function for everything the provider knows.
 */
import { AuthenticationV1Api, AuthorizationV1Api, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { kubeletAuthenticator } from '../core/kubelet/authentication.ts';
import { subjectAccessReviewAuthorizer } from '../core/kubelet/authorization.ts';
import { kubeletApiClient } from '../core/kubelet/client.ts';
import { startKubeletServers, type KubeletServers } from '../core/kubelet/server.ts';
import { selfSignedServingCertificate, type ServingCertificate } from '../core/kubelet/servingCertificate.ts';
import type { Logger } from '../core/log.ts';

export interface KubeletEndpointOptions {
  /** The IP address the nodes post: the relay's pod IP. */
  address: string;
  listenAddress?: string;
  /** Node i of the relay's list is served on firstPort + i (0: free ports). */
  firstPort: number;
  /** The kubeletApi function. */
  apiUrl: string;
  /** Sent as x-functions-key. */
  functionKey?: string;
  /** A serving certificate; a self-signed one for `address` when absent. */
  certificate?: ServingCertificate;
  followPollMs?: number;
  /** exec and attach sessions served at once (FUNCLET_KUBELET_MAX_SESSIONS). */
  maxSessions?: number;
}

/** The ConfigMap the API server publishes its client CA in, for kubelets and extension servers. */
const authenticationConfigMap = { namespace: 'kube-system', name: 'extension-apiserver-authentication' };

export async function startKubeletEndpoints(
  options: KubeletEndpointOptions,
  context: { kubeConfig: KubeConfig; nodes: readonly string[]; secret: string; logger: Logger },
): Promise<KubeletServers> {
  const core = context.kubeConfig.makeApiClient(CoreV1Api);
  const clientCa = async (): Promise<string> => {
    const configMap = await core.readNamespacedConfigMap(authenticationConfigMap);
    const pem = configMap.data?.['client-ca-file'];
    if (pem === undefined || pem.trim() === '')
      throw new Error(
        `${authenticationConfigMap.namespace}/${authenticationConfigMap.name} has no client-ca-file: the API server runs without --client-ca-file`,
      );
    return pem;
  };
  return startKubeletServers({
    nodes: context.nodes,
    address: options.address,
    listenAddress: options.listenAddress,
    firstPort: options.firstPort,
    certificate: options.certificate ?? (await selfSignedServingCertificate(options.address)),
    clientCa,
    authenticator: kubeletAuthenticator({ api: context.kubeConfig.makeApiClient(AuthenticationV1Api) }),
    authorizer: subjectAccessReviewAuthorizer({ api: context.kubeConfig.makeApiClient(AuthorizationV1Api) }),
    call: kubeletApiClient({ url: options.apiUrl, secret: context.secret, functionKey: options.functionKey }),
    listPods: async (node) =>
      (await core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${node}` })).items.map((pod) => ({
        ...pod,
        apiVersion: 'v1',
        kind: 'Pod',
      })),
    logger: context.logger,
    followPollMs: options.followPollMs,
    maxSessions: options.maxSessions,
    maxSessionsSetting: 'FUNCLET_KUBELET_MAX_SESSIONS',
  });
}

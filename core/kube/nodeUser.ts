/** Who a virtual node is to the API server. Kept apart from nodeCertificate.ts, which loads X.509 code. */

/** The signer whose certificates the API server accepts from nodes (and csrapproving approves for them). */
export const kubeletClientSigner = 'kubernetes.io/kube-apiserver-client-kubelet';
/** The group every node user is in, and the Node authorizer looks for. */
export const nodesGroup = 'system:nodes';

/** The user a node's certificate names: what the Node authorizer and NodeRestriction key on. */
export function nodeUser(node: string): string {
  return `system:node:${node}`;
}

/** A node's client certificate and its private key, as PEM. */
export interface NodeCredential {
  certPem: string;
  keyPem: string;
}

/**
 * A virtual node's client certificate, as a kubelet gets one: a fresh ECDSA P-256 key made in
 * this process, a PKCS#10 request for `system:node:<name>` in group `system:nodes`, a
 * CertificateSigningRequest for the signer `kubernetes.io/kube-apiserver-client-kubelet`, and the
 * certificate the signer issues once the request is approved. The private key is returned to the
 * caller only, to go into the kubeconfig store; it is never logged and never put in an error.
 */
import { randomBytes, webcrypto, X509Certificate } from 'node:crypto';
import type { CertificatesV1Api, V1CertificateSigningRequest } from '@kubernetes/client-node';
import { FuncletError } from '../errors.ts';
import { x509 } from '../util/x509.ts';
import { kubeError } from './errors.ts';
import { kubeletClientSigner, nodesGroup, nodeUser, type NodeCredential } from './nodeUser.ts';

/** A new key and the PKCS#10 request for the node's client certificate. */
export async function nodeCertificateRequest(node: string): Promise<{ requestPem: string; keyPem: string }> {
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
  const keys = await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
  const request = await x509.Pkcs10CertificateRequestGenerator.create({
    name: [{ O: [nodesGroup] }, { CN: [nodeUser(node)] }],
    keys,
    signingAlgorithm: algorithm,
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  return { requestPem: request.toString('pem') + '\n', keyPem: pem('PRIVATE KEY', pkcs8) };
}

/** The CertificateSigningRequest object for a PKCS#10 request (no SANs: csrapproving requires none). */
export function nodeSigningRequest(
  node: string,
  requestPem: string,
  expirationSeconds?: number,
): V1CertificateSigningRequest {
  return {
    apiVersion: 'certificates.k8s.io/v1',
    kind: 'CertificateSigningRequest',
    metadata: {
      // As the kubelet names its own: the node and a random part, so renewals never collide.
      name: `node-client-${node}-${randomBytes(4).toString('hex')}`.slice(0, 253),
      labels: { 'app.kubernetes.io/part-of': 'funclet', 'funclet.io/node': node.slice(0, 63) },
    },
    spec: {
      request: Buffer.from(requestPem).toString('base64'),
      signerName: kubeletClientSigner,
      usages: ['digital signature', 'client auth'],
      ...(expirationSeconds === undefined ? {} : { expirationSeconds }),
    },
  };
}

export interface IssueOptions {
  /** Approves the request: the admin's credentials at attach; omitted when csrapproving approves. */
  approve?: (request: V1CertificateSigningRequest) => Promise<void>;
  /** Asked of the signer; it may shorten it (never below 600 s). Its default otherwise. */
  expirationSeconds?: number;
  /** How long to wait for approval and signing. */
  timeoutMs?: number;
  pollMs?: number;
}

/**
 * Makes a key, asks for the node's certificate through the CSR API with `certificates` (the admin's
 * client at attach, the node's own when it renews), and waits for the signer to issue it.
 */
export async function issueNodeCertificate(
  certificates: CertificatesV1Api,
  node: string,
  options: IssueOptions = {},
): Promise<NodeCredential & { requestName: string }> {
  const { requestPem, keyPem } = await nodeCertificateRequest(node);
  const body = nodeSigningRequest(node, requestPem, options.expirationSeconds);
  const name = body.metadata!.name!;
  let created: V1CertificateSigningRequest;
  try {
    created = await certificates.createCertificateSigningRequest({ body });
  } catch (err) {
    throw kubeError(err, `create CertificateSigningRequest ${name} for node ${node}`);
  }
  if (options.approve) await options.approve(created);
  const until = Date.now() + (options.timeoutMs ?? 60_000);
  for (;;) {
    let current: V1CertificateSigningRequest;
    try {
      current = await certificates.readCertificateSigningRequest({ name });
    } catch (err) {
      throw kubeError(err, `read CertificateSigningRequest ${name} of node ${node}`);
    }
    const denied = current.status?.conditions?.find((c) => c.type === 'Denied' || c.type === 'Failed');
    if (denied)
      throw new FuncletError(
        `CertificateSigningRequest ${name} of node ${node} was ${denied.type.toLowerCase()}: ${denied.message ?? denied.reason ?? 'no reason given'}`,
      );
    const issued = current.status?.certificate;
    if (issued !== undefined && issued !== '')
      return { certPem: Buffer.from(issued, 'base64').toString('utf8'), keyPem, requestName: name };
    if (Date.now() > until) {
      const approved = current.status?.conditions?.some((c) => c.type === 'Approved') === true;
      throw new FuncletError(
        approved
          ? `CertificateSigningRequest ${name} of node ${node} is approved but no certificate was issued: is a signer for ${kubeletClientSigner} running (kube-controller-manager --cluster-signing-cert-file)?`
          : `CertificateSigningRequest ${name} of node ${node} was not approved in time`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 250));
  }
}

/** When a certificate starts and stops being valid, and the user (CN) it names. */
export function certificateValidity(certPem: string): {
  notBeforeMs: number;
  notAfterMs: number;
  subject: string;
} {
  const cert = new X509Certificate(certPem);
  return {
    notBeforeMs: Date.parse(cert.validFrom),
    notAfterMs: Date.parse(cert.validTo),
    subject: /CN=([^\n,]+)/.exec(cert.subject)?.[1] ?? '',
  };
}

function pem(label: string, der: Buffer): string {
  const body = der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n?$/, '\n');
  return `-----BEGIN ${label}-----\n${body}-----END ${label}-----\n`;
}

/**
 * The test control plane's certificates, made with the openssl CLI: a cluster CA (client
 * certificates, CSR signing) with the API server's kubelet client certificate, and a
 * front-proxy CA with the aggregator's client certificate, laid out as kubeadm lays them out.
 * Keys are written with mode 0600 and never printed.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface CertificateFiles {
  certFile: string;
  keyFile: string;
}

export interface ClusterPki {
  /** Signs client certificates the API server accepts (--client-ca-file) and approved CSRs. */
  clusterCa: CertificateFiles & { certPem: string };
  /** The API server's client certificate towards kubelets (CN kube-apiserver-kubelet-client). */
  kubeletClient: CertificateFiles;
  /** Signs the aggregator's client certificate; aggregated API servers trust it for request headers. */
  frontProxyCa: CertificateFiles;
  /** The aggregator's client certificate towards aggregated API servers (CN front-proxy-client). */
  frontProxyClient: CertificateFiles;
}

export const kubeletClientUser = 'kube-apiserver-kubelet-client';
export const frontProxyClientName = 'front-proxy-client';

/** Creates every certificate and key in `dir` (which must exist). */
export function createClusterPki(dir: string): ClusterPki {
  // An empty configuration: only the extensions given here go into a certificate.
  const config = join(dir, 'openssl.cnf');
  writeFileSync(config, '[req]\ndistinguished_name = dn\n[dn]\n');
  const files = (name: string): CertificateFiles => ({
    certFile: join(dir, `${name}.crt`),
    keyFile: join(dir, `${name}.key`),
  });
  const make = (out: CertificateFiles, subject: string, extensions: string[], issuer?: CertificateFiles) => {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-config',
        config,
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        out.keyFile,
        '-out',
        out.certFile,
        '-days',
        '3650',
        '-subj',
        subject,
        ...(issuer ? ['-CA', issuer.certFile, '-CAkey', issuer.keyFile] : []),
        ...extensions.flatMap((e) => ['-addext', e]),
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
  };
  const ca = ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature'];
  const client = [
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature',
    'extendedKeyUsage=clientAuth',
  ];

  const clusterCa = files('cluster-ca');
  make(clusterCa, '/CN=funclet-test-cluster-ca', [...ca, 'subjectKeyIdentifier=hash']);
  const kubeletClient = files('apiserver-kubelet-client');
  make(kubeletClient, `/O=kube-apiserver/CN=${kubeletClientUser}`, client, clusterCa);
  const frontProxyCa = files('front-proxy-ca');
  make(frontProxyCa, '/CN=funclet-test-front-proxy-ca', [...ca, 'subjectKeyIdentifier=hash']);
  const frontProxyClient = files('front-proxy-client');
  make(frontProxyClient, `/CN=${frontProxyClientName}`, client, frontProxyCa);

  return {
    clusterCa: { ...clusterCa, certPem: readFileSync(clusterCa.certFile, 'utf8') },
    kubeletClient,
    frontProxyCa,
    frontProxyClient,
  };
}

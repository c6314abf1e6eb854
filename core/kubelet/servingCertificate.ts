/**
 * The kubelet endpoint's serving certificate when none is given: self-signed for the relay's
 * address, made in memory at start, as a kubelet without serverTLSBootstrap makes its own. The
 * API server does not verify kubelet serving certificates unless it is given
 * --kubelet-certificate-authority; metrics-server needs --kubelet-insecure-tls or a CA for it.
 */
import { webcrypto } from 'node:crypto';
import { x509, type X509Crypto } from '../util/x509.ts';

export interface ServingCertificate {
  certPem: string;
  keyPem: string;
}

export async function selfSignedServingCertificate(
  address: string,
  nowMs: number = Date.now(),
): Promise<ServingCertificate> {
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
  const keys = await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: Buffer.from(webcrypto.getRandomValues(new Uint8Array(16)))
        .toString('hex')
        .replace(/^[89a-f]/, '1'),
      name: `CN=${address}@${Math.floor(nowMs / 1000)}`,
      notBefore: new Date(nowMs - 60_000),
      notAfter: new Date(nowMs + 365 * 24 * 3600_000),
      keys,
      signingAlgorithm: algorithm,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        new x509.SubjectAlternativeNameExtension([{ type: 'ip', value: address }]),
      ],
    },
    webcrypto as unknown as X509Crypto,
  );
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  const keyPem = `-----BEGIN PRIVATE KEY-----\n${Buffer.from(pkcs8)
    .toString('base64')
    .replace(/.{64}/g, '$&\n')
    .replace(/\n?$/, '\n')}-----END PRIVATE KEY-----\n`;
  return { certPem: cert.toString('pem') + '\n', keyPem };
}

/**
 * Who is calling a node's kubelet endpoint, found as the kubelet finds it with anonymous access
 * off (as AKS and EKS run their kubelets): an x509 client certificate that chains to the
 * cluster's client CA, or a bearer token the API server vouches for through TokenReview.
 * Anything else is unauthenticated and gets 401.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { AuthenticationV1Api } from '@kubernetes/client-node';

export interface UserInfo {
  username: string;
  uid?: string;
  groups: string[];
  extra?: Record<string, string[]>;
}

export interface KubeletAuthenticator {
  /** The caller, or undefined when the request carries no credential that authenticates. */
  authenticate(request: IncomingMessage): Promise<UserInfo | undefined>;
}

/**
 * The user a verified client certificate names: the subject's common name, and its
 * organizations as groups (the API server's x509 authenticator's mapping). The TLS server
 * verified the chain against the client CA; `authorized` is its verdict.
 */
export function certificateUser(socket: TLSSocket): UserInfo | undefined {
  if (!socket.authorized) return undefined;
  const cert = socket.getPeerCertificate();
  const subject = cert.subject as Record<string, string | string[] | undefined> | undefined;
  const cn = subject?.CN;
  const username = Array.isArray(cn) ? cn[0] : cn;
  if (username === undefined || username === '') return undefined;
  const o = subject?.O;
  const groups = o === undefined ? [] : Array.isArray(o) ? o : [o];
  return { username, groups: [...groups, 'system:authenticated'] };
}

export interface TokenReviewAuthenticatorOptions {
  api: AuthenticationV1Api;
  now?: () => number;
  /** How long an answer is reused; the kubelet's default webhook cache TTL is 2 minutes. */
  ttlMs?: number;
}

export function kubeletAuthenticator(options: TokenReviewAuthenticatorOptions): KubeletAuthenticator {
  const now = options.now ?? Date.now;
  const ttl = options.ttlMs ?? 2 * 60_000;
  const cache = new Map<string, { user: UserInfo | undefined; untilMs: number }>();

  const review = async (token: string): Promise<UserInfo | undefined> => {
    // Keyed by a digest: the cache never holds a token itself.
    const key = createHash('sha256').update(token).digest('base64');
    const hit = cache.get(key);
    if (hit && hit.untilMs > now()) return hit.user;
    const answer = await options.api.createTokenReview({
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token } },
    });
    const status = answer.status;
    const user =
      status?.authenticated === true && status.user?.username
        ? {
            username: status.user.username,
            uid: status.user.uid,
            groups: status.user.groups ?? [],
            extra: status.user.extra,
          }
        : undefined;
    if (cache.size > 10_000) cache.clear();
    cache.set(key, { user, untilMs: now() + ttl });
    return user;
  };

  return {
    async authenticate(request) {
      const fromCertificate = certificateUser(request.socket as TLSSocket);
      if (fromCertificate) return fromCertificate;
      const header = request.headers.authorization ?? '';
      const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
      if (!match?.[1]) return undefined;
      return review(match[1]);
    },
  };
}

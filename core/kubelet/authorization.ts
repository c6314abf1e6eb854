/**
 * Who may call a node's kubelet endpoint, decided as the kubelet decides it: every request
 * maps to the `nodes` resource with a subresource picked by path (pkg/kubelet/server/auth.go,
 * with KubeletFineGrainedAuthz on as it is by default since 1.33), and the API server's
 * SubjectAccessReview says yes or no. Any one allowed subresource lets the request through.
 */
import type { AuthorizationV1Api } from '@kubernetes/client-node';
import type { UserInfo } from './authentication.ts';

export interface NodeAccess {
  verb: string;
  subresource: string;
}

/** `path` is the request path without its query; `node` the node the endpoint serves. */
export function kubeletAccess(method: string, path: string): NodeAccess[] {
  const verb = verbOf(method);
  const subresources: string[] = [];
  if (isSubpath(path, '/pods') || isSubpath(path, '/runningpods')) subresources.push('pods');
  else if (isSubpath(path, '/healthz')) subresources.push('healthz');
  else if (isSubpath(path, '/configz')) subresources.push('configz');

  if (isSubpath(path, '/stats')) subresources.push('stats');
  else if (isSubpath(path, '/metrics')) subresources.push('metrics');
  else if (isSubpath(path, '/logs')) subresources.push('log');
  else if (isSubpath(path, '/checkpoint')) subresources.push('checkpoint');
  else if (isSubpath(path, '/statusz')) subresources.push('statusz');
  else if (isSubpath(path, '/flagz')) subresources.push('configz');
  else subresources.push('proxy');
  return subresources.map((subresource) => ({ verb, subresource }));
}

function verbOf(method: string): string {
  switch (method) {
    case 'POST':
      return 'create';
    case 'GET':
    case 'HEAD':
      return 'get';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return 'delete';
    default:
      return '';
  }
}

function isSubpath(subpath: string, path: string): boolean {
  return subpath === path || (subpath.startsWith(path) && subpath[path.length] === '/');
}

export type Decision = { allowed: true } | { allowed: false; message: string };

export interface KubeletAuthorizer {
  authorize(user: UserInfo, node: string, method: string, path: string): Promise<Decision>;
}

export interface SubjectAccessReviewAuthorizerOptions {
  api: AuthorizationV1Api;
  now?: () => number;
  /** How long a decision is reused, as the kubelet's webhook authorizer caches them. */
  allowedTtlMs?: number;
  deniedTtlMs?: number;
}

/**
 * Asks the API server with SubjectAccessReview, caching each answer briefly (the kubelet's
 * defaults: 5 minutes for allowed, 30 seconds for denied) so that a follow or a metrics scrape
 * does not cost a review per request.
 */
export function subjectAccessReviewAuthorizer(
  options: SubjectAccessReviewAuthorizerOptions,
): KubeletAuthorizer {
  const now = options.now ?? Date.now;
  const allowedTtl = options.allowedTtlMs ?? 5 * 60_000;
  const deniedTtl = options.deniedTtlMs ?? 30_000;
  const cache = new Map<string, { allowed: boolean; untilMs: number }>();

  const review = async (user: UserInfo, node: string, access: NodeAccess): Promise<boolean> => {
    const key = JSON.stringify([
      user.username,
      user.uid,
      user.groups,
      user.extra,
      node,
      access.verb,
      access.subresource,
    ]);
    const hit = cache.get(key);
    if (hit && hit.untilMs > now()) return hit.allowed;
    const answer = await options.api.createSubjectAccessReview({
      body: {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SubjectAccessReview',
        spec: {
          user: user.username,
          uid: user.uid,
          groups: user.groups,
          extra: user.extra,
          resourceAttributes: {
            verb: access.verb,
            resource: 'nodes',
            subresource: access.subresource,
            name: node,
            version: 'v1',
          },
        },
      },
    });
    const allowed = answer.status?.allowed === true;
    if (cache.size > 10_000) cache.clear();
    cache.set(key, { allowed, untilMs: now() + (allowed ? allowedTtl : deniedTtl) });
    return allowed;
  };

  return {
    async authorize(user, node, method, path) {
      const accesses = kubeletAccess(method, path);
      for (const access of accesses) {
        if (access.verb !== '' && (await review(user, node, access))) return { allowed: true };
      }
      const first = accesses[0];
      return {
        allowed: false,
        message: `Forbidden (user=${user.username}, verb=${first?.verb ?? ''}, resource=nodes, subresource(s)=[${accesses.map((a) => a.subresource).join(' ')}])\n`,
      };
    },
  };
}

/**
 * A static walk of every Kubernetes API call the product code makes, by credential: the function
 * app (everything functions/app.ts imports, statically or lazily) and the relay (cli/relay.ts).
 * A call is a method of one of @kubernetes/client-node's generated API classes; each method the
 * code calls must be in `apiMethods` below, which says which request it makes, so a new call is
 * either known (and checked against the manifests) or fails the walk until it is added here.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';

const root = fileURLToPath(new URL('../../../', import.meta.url));

/** What RBAC sees of a request. */
export interface ApiRequest {
  group: string;
  resource: string;
  verb: string;
}

export interface ApiCall extends ApiRequest {
  method: string;
  file: string;
}

/** The client-node methods Funclet calls, and the request each makes. */
export const apiMethods: Record<string, ApiRequest> = {
  readNode: { group: '', resource: 'nodes', verb: 'get' },
  createNode: { group: '', resource: 'nodes', verb: 'create' },
  patchNode: { group: '', resource: 'nodes', verb: 'patch' },
  patchNodeStatus: { group: '', resource: 'nodes/status', verb: 'patch' },
  readNamespacedLease: { group: 'coordination.k8s.io', resource: 'leases', verb: 'get' },
  createNamespacedLease: { group: 'coordination.k8s.io', resource: 'leases', verb: 'create' },
  replaceNamespacedLease: { group: 'coordination.k8s.io', resource: 'leases', verb: 'update' },
  readNamespacedPod: { group: '', resource: 'pods', verb: 'get' },
  listNamespacedPod: { group: '', resource: 'pods', verb: 'list' },
  listPodForAllNamespaces: { group: '', resource: 'pods', verb: 'list' },
  deleteNamespacedPod: { group: '', resource: 'pods', verb: 'delete' },
  patchNamespacedPodStatus: { group: '', resource: 'pods/status', verb: 'patch' },
  readNamespacedConfigMap: { group: '', resource: 'configmaps', verb: 'get' },
  readNamespacedSecret: { group: '', resource: 'secrets', verb: 'get' },
  listNamespacedService: { group: '', resource: 'services', verb: 'list' },
  createNamespacedServiceAccountToken: { group: '', resource: 'serviceaccounts/token', verb: 'create' },
  createNamespacedEvent: { group: '', resource: 'events', verb: 'create' },
  createCertificateSigningRequest: {
    group: 'certificates.k8s.io',
    resource: 'certificatesigningrequests',
    verb: 'create',
  },
  readCertificateSigningRequest: {
    group: 'certificates.k8s.io',
    resource: 'certificatesigningrequests',
    verb: 'get',
  },
  createTokenReview: { group: 'authentication.k8s.io', resource: 'tokenreviews', verb: 'create' },
  createSubjectAccessReview: {
    group: 'authorization.k8s.io',
    resource: 'subjectaccessreviews',
    verb: 'create',
  },
};

/**
 * API paths the code requests without the generated clients (the relay lists and watches pods
 * over plain HTTP, core/relay/kubePodSource.ts), and the requests made there.
 */
export const apiPaths: Record<string, ApiRequest[]> = {
  '/api/v1/pods': [
    { group: '', resource: 'pods', verb: 'list' },
    { group: '', resource: 'pods', verb: 'watch' },
  ],
};

/** Every method name of client-node's generated API classes (not the generic KubernetesObjectApi). */
export function clientMethodNames(): Set<string> {
  const names = new Set<string>();
  for (const [name, value] of Object.entries(k8s)) {
    if (!/^[A-Z]\w*Api$/.test(name) || name === 'KubernetesObjectApi' || typeof value !== 'function')
      continue;
    for (const method of Object.getOwnPropertyNames((value as { prototype: object }).prototype))
      if (method !== 'constructor' && !method.endsWith('WithHttpInfo')) names.add(method);
  }
  return names;
}

/** The project's files `entry` imports, itself included, following relative static and lazy imports. */
export function reachableFiles(entry: string): string[] {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    // Type-only imports load no code, and so make no call.
    const code = text.replace(/^\s*(?:import|export) type [^;]*;/gm, '');
    for (const m of code.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+\.ts)'/g))
      visit(resolve(dirname(file), m[1]!));
  };
  visit(resolve(root, entry));
  return [...seen].map((f) => relative(root, f)).sort();
}

/** The calls in one source text. Unknown client methods are returned with an empty request. */
export function callsIn(text: string, file: string, methods = clientMethodNames()): ApiCall[] {
  const code = text.replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*/g, ''); // comments name methods too
  const calls: ApiCall[] = [];
  for (const m of code.matchAll(/\.(\w+)\s*\(/g)) {
    const method = m[1]!;
    if (!methods.has(method)) continue;
    calls.push({ method, file, ...(apiMethods[method] ?? { group: '?', resource: '?', verb: '?' }) });
  }
  for (const m of code.matchAll(/['`](\/api\/v1\/[^'`$?]*|\/apis\/[a-z0-9.-]+\/[^'`$?]*)/g)) {
    const requests = apiPaths[m[1]!] ?? [{ group: '?', resource: '?', verb: '?' }];
    for (const request of requests) calls.push({ method: `request ${m[1]!}`, file, ...request });
  }
  if (/\bnew Watch\(/.test(code)) calls.push({ method: 'Watch', file, group: '?', resource: '?', verb: '?' });
  if (/\bKubernetesObjectApi\b/.test(code))
    calls.push({ method: 'KubernetesObjectApi', file, group: '?', resource: '?', verb: '?' });
  return calls;
}

/** Every call the code reachable from `entry` makes. */
export function apiCallsFrom(entry: string): ApiCall[] {
  const methods = clientMethodNames();
  return reachableFiles(entry).flatMap((f) => callsIn(readFileSync(join(root, f), 'utf8'), f, methods));
}

export interface RbacRule {
  apiGroups?: string[];
  resources?: string[];
  verbs: string[];
  resourceNames?: string[];
}

export function ruleAllows(rule: RbacRule, request: ApiRequest): boolean {
  const has = (list: string[] | undefined, value: string) =>
    (list ?? []).some((v) => v === '*' || v === value);
  return (
    has(rule.apiGroups, request.group) &&
    has(rule.resources, request.resource) &&
    has(rule.verbs, request.verb)
  );
}

/** The calls no rule grants. */
export function ungranted<T extends ApiRequest>(calls: readonly T[], rules: readonly RbacRule[]): T[] {
  return calls.filter((c) => !rules.some((r) => ruleAllows(r, c)));
}

/** Each (group, resource, verb) a rule grants that no call makes, as "verb group/resource". */
export function unusedGrants(rules: readonly RbacRule[], calls: readonly ApiRequest[]): string[] {
  const unused: string[] = [];
  for (const rule of rules)
    for (const group of rule.apiGroups ?? [])
      for (const resource of rule.resources ?? [])
        for (const verb of rule.verbs)
          if (!calls.some((c) => ruleAllows({ apiGroups: [group], resources: [resource], verbs: [verb] }, c)))
            unused.push(`${verb} ${group === '' ? 'core' : group}/${resource}`);
  return unused;
}

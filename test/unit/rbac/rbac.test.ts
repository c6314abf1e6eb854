/**
 * RBAC is exactly what the code calls: every Kubernetes API call the function app and the relay
 * make (a static walk of their code, test/unit/rbac/apiCalls.ts) is granted by infra/k8s, and
 * every grant there is used by some call. Under node identity the Node authorizer grants the
 * function app's calls (test/integration/nodeIdentity.test.ts asks the API server about each);
 * the one grant beyond it must then be used too.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubernetesObject } from '@kubernetes/client-node';
import { readManifests } from '../../../cli/manifests.ts';
import { apiCallsFrom, callsIn, ungranted, unusedGrants, type ApiCall, type RbacRule } from './apiCalls.ts';

type Rbac = KubernetesObject & {
  rules?: RbacRule[];
  roleRef?: { kind: string; name: string };
  subjects?: { kind: string; name: string }[];
};

const manifests = readManifests() as Rbac[];
const rulesOf = (kind: string, name: string): RbacRule[] => {
  const found = manifests.find((m) => m.kind === kind && m.metadata?.name === name);
  assert.ok(found, `infra/k8s has ${kind} ${name}`);
  return found.rules ?? [];
};
const describeCall = (c: ApiCall) => `${c.method} (${c.verb} ${c.group}/${c.resource}) in ${c.file}`;

const functionCalls = apiCallsFrom('functions/app.ts');
const relayCalls = apiCallsFrom('cli/relay.ts');
/** Calls only node identity makes: a node asking for its next certificate. */
const nodeOnly = (c: ApiCall) => c.resource === 'certificatesigningrequests';

/**
 * The built-in Role kube-system/extension-apiserver-authentication-reader, which relay-rbac.yaml
 * binds: the API server's bootstrap policy grants get (and list, watch) on that one ConfigMap.
 */
const authenticationReader: RbacRule[] = [
  {
    apiGroups: [''],
    resources: ['configmaps'],
    verbs: ['get', 'list', 'watch'],
    resourceNames: ['extension-apiserver-authentication'],
  },
];

describe('RBAC is exactly what the code calls', () => {
  it('the walk finds the calls of both credentials, and knows each method it finds', () => {
    assert.ok(
      functionCalls.some(
        (c) => c.method === 'patchNamespacedPodStatus' && c.file === 'core/pods/reconcile.ts',
      ),
    );
    assert.ok(functionCalls.some((c) => c.method === 'replaceNamespacedLease'));
    assert.ok(relayCalls.some((c) => c.verb === 'watch' && c.resource === 'pods'));
    const unknown = [...functionCalls, ...relayCalls].filter((c) => c.verb === '?');
    assert.deepEqual(
      unknown.map(describeCall),
      [],
      'add each new method to apiMethods, with the request it makes',
    );
  });

  it("the ServiceAccount fallback's ClusterRole and Lease Role grant every call the function app makes", () => {
    const rules = [...rulesOf('ClusterRole', 'funclet'), ...rulesOf('Role', 'funclet-node-lease')];
    assert.deepEqual(
      ungranted(
        functionCalls.filter((c) => !nodeOnly(c)),
        rules,
      ).map(describeCall),
      [],
    );
  });

  it('…and grant nothing the function app does not call', () => {
    const calls = functionCalls.filter((c) => !nodeOnly(c));
    assert.deepEqual(unusedGrants(rulesOf('ClusterRole', 'funclet'), calls), []);
    assert.deepEqual(unusedGrants(rulesOf('Role', 'funclet-node-lease'), calls), []);
  });

  it('…and name the virtual nodes wherever RBAC can: every verb on nodes and leases but create', () => {
    const rules = [...rulesOf('ClusterRole', 'funclet'), ...rulesOf('Role', 'funclet-node-lease')];
    for (const rule of rules.filter((r) =>
      r.resources?.some((x) => x.startsWith('nodes') || x === 'leases'),
    )) {
      if (rule.verbs.includes('create'))
        assert.deepEqual(rule.verbs, ['create'], 'create alone: it has no name to match');
      else
        assert.deepEqual(
          rule.resourceNames,
          ['VIRTUAL_NODES'],
          `${rule.verbs.join(',')} ${rule.resources?.join(',')}`,
        );
    }
  });

  it('node identity adds one grant beyond the Node authorizer, which renewal uses', () => {
    const node = manifests.filter((m) => m.metadata?.labels?.['funclet.io/credential'] === 'node');
    assert.deepEqual(
      node.map((m) => [m.kind, m.roleRef?.name, m.subjects?.map((s) => `${s.kind}/${s.name}`)]),
      [
        [
          'ClusterRoleBinding',
          'system:certificates.k8s.io:certificatesigningrequests:selfnodeclient',
          ['User/system:node:VIRTUAL_NODES'],
        ],
      ],
    );
    // The controller approves a node's own request for its next certificate: the code makes one.
    assert.ok(functionCalls.some((c) => c.method === 'createCertificateSigningRequest'));
  });

  it("the relay's ClusterRole and the authentication reader Role grant every call the relay makes, and nothing more", () => {
    const clusterRole = rulesOf('ClusterRole', 'funclet-relay');
    const binding = manifests.find(
      (m) => m.kind === 'RoleBinding' && m.metadata?.name === 'funclet-relay-authentication-reader',
    );
    assert.equal(binding?.roleRef?.name, 'extension-apiserver-authentication-reader');
    assert.deepEqual(ungranted(relayCalls, [...clusterRole, ...authenticationReader]).map(describeCall), []);
    assert.deepEqual(unusedGrants(clusterRole, relayCalls), []);
    assert.ok(
      relayCalls.some((c) => c.resource === 'configmaps' && c.verb === 'get'),
      'the reader Role is used',
    );
  });

  it('fails on a call no rule grants, and on a grant no call uses', () => {
    const added = callsIn(
      'await deps.kube.core.readNamespacedSecret({ name, namespace });\nawait deps.kube.core.listSecretForAllNamespaces();',
      'core/added.ts',
    );
    assert.deepEqual(
      added.map((c) => [c.method, c.verb]),
      [
        ['readNamespacedSecret', 'get'],
        ['listSecretForAllNamespaces', '?'],
      ],
    );
    const rules: RbacRule[] = [{ apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list'] }];
    assert.deepEqual(ungranted([{ group: '', resource: 'secrets', verb: 'watch' }], rules).length, 1);
    assert.deepEqual(unusedGrants(rules, [added[0]!]), ['list core/secrets']);
  });
});

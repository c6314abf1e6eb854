/**
 * infra/terraform/modules/cluster does what infra/k8s (and `funclet attach`) does: it reads its
 * RBAC rules from the infra/k8s files themselves, so this pins that those files still split the
 * way the module splits them; and its relay Deployment matches relay-deployment.yaml field by
 * field wherever the two can be compared.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { loadYaml, type V1Deployment } from '@kubernetes/client-node';
import { k8sManifestDir, readManifests } from '../../cli/manifests.ts';
import { parseTerraform } from './appSettings.ts';

const path = (p: string) => fileURLToPath(new URL(`../../${p}`, import.meta.url));

type Block = Record<string, unknown>;
const one = (v: unknown): Block => (v as Block[])[0]!;

/** The module's HCL as JSON, with `${local.x}` resolved where the local is a plain string. */
async function clusterModule(): Promise<{
  locals: Block;
  resources: Record<string, Record<string, Block[]>>;
}> {
  const module = await parseTerraform(path('infra/terraform/modules/cluster/main.tf'));
  const locals = Object.assign({}, ...(module.locals as Block[])) as Block;
  const resolve = (v: unknown): unknown => {
    if (typeof v === 'string') {
      const m = /^\$\{local\.(\w+)\}$/.exec(v);
      return m && typeof locals[m[1]!] === 'string' ? locals[m[1]!] : v;
    }
    if (Array.isArray(v)) return v.map(resolve);
    if (v !== null && typeof v === 'object')
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, resolve(x)]));
    return v;
  };
  return { locals, resources: resolve(module.resource) as Record<string, Record<string, Block[]>> };
}

describe('the cluster Terraform module', () => {
  it('finds its RBAC rules in infra/k8s, one document per "---" as it splits them', async () => {
    const { locals, resources } = await clusterModule();
    assert.match(String(locals.k8s_dir), /\/\.\.\/\.\.\/\.\.\/k8s/);
    assert.match(String(locals.documents), /split\("\\n---\\n"/);

    // What the module's split("\n---\n") + yamldecode sees, file by file.
    const split = (file: string) =>
      readFileSync(path(`infra/k8s/${file}`), 'utf8')
        .split('\n---\n')
        .map((d) => loadYaml<{ kind: string; rules?: unknown[] }>(d));
    const [clusterRole] = split('clusterrole.yaml');
    assert.equal(clusterRole?.kind, 'ClusterRole');
    assert.ok(clusterRole.rules?.length);
    assert.ok(split('node-lease-role.yaml').some((d) => d.kind === 'Role' && d.rules?.length));
    assert.ok(split('relay-rbac.yaml').some((d) => d.kind === 'ClusterRole' && d.rules?.length));

    // Same names as the manifests: bindings and the functions' kubeconfig depend on them.
    const names = (type: string) =>
      Object.values(resources[type] ?? {}).map((r) => String(one(r[0]!.metadata).name));
    // The module makes the ServiceAccount fallback; node identity is funclet attach's alone.
    const manifests = readManifests().filter((m) => m.metadata?.labels?.['funclet.io/credential'] !== 'node');
    for (const [type, kind] of [
      ['kubernetes_namespace_v1', 'Namespace'],
      ['kubernetes_service_account_v1', 'ServiceAccount'],
      ['kubernetes_cluster_role_v1', 'ClusterRole'],
      ['kubernetes_cluster_role_binding_v1', 'ClusterRoleBinding'],
      ['kubernetes_role_v1', 'Role'],
      ['kubernetes_role_binding_v1', 'RoleBinding'],
    ] as const) {
      assert.deepEqual(
        names(type).sort(),
        manifests
          .filter((m) => m.kind === kind)
          .map((m) => m.metadata!.name!)
          .sort(),
        `${kind} names`,
      );
    }
  });

  it('installs the relay Deployment as relay-deployment.yaml describes it', async () => {
    const yaml: V1Deployment | undefined = readManifests(k8sManifestDir, ['relay-deployment.yaml']).find(
      (m) => m.kind === 'Deployment',
    );
    assert.ok(yaml, 'infra/k8s has the relay Deployment');
    const pod = yaml.spec!.template.spec!;
    const container = pod.containers[0]!;

    const { resources } = await clusterModule();
    const tf = resources.kubernetes_deployment_v1!.relay![0]!;
    const tfPod = one(one(one(tf.spec).template).spec);
    const tfContainer = one(tfPod.container);

    assert.equal(one(tf.metadata).name, yaml.metadata!.name);
    assert.equal(one(tf.metadata).namespace, yaml.metadata!.namespace);
    assert.equal(one(one(tf.spec).strategy).type, yaml.spec!.strategy!.type);
    assert.match(String(tfPod.service_account_name), /kubernetes_service_account_v1\.relay/);
    assert.equal(pod.serviceAccountName, 'funclet-relay');
    assert.equal(tfPod.automount_service_account_token, pod.automountServiceAccountToken);
    assert.equal(tfPod.termination_grace_period_seconds, pod.terminationGracePeriodSeconds);
    assert.equal(tfPod.enable_service_links, pod.enableServiceLinks);
    const tfPodSecurity = one(tfPod.security_context);
    assert.equal(tfPodSecurity.run_as_non_root, pod.securityContext!.runAsNonRoot);
    assert.equal(tfPodSecurity.run_as_user, pod.securityContext!.runAsUser);

    const variables = (await parseTerraform(path('infra/terraform/modules/cluster/variables.tf')))
      .variable as Record<string, unknown>;
    assert.deepEqual(tfContainer.args, container.args);
    const tfEnv = tfContainer.env as { name: string; value?: string; value_from?: Block[] }[];
    assert.deepEqual(
      tfEnv.map((e) => e.name),
      container.env!.map((e) => e.name),
      'the same environment, in the same order',
    );
    for (const e of container.env!) {
      const t = tfEnv.find((x) => x.name === e.name)!;
      if (e.valueFrom?.secretKeyRef) {
        const ref = one(one(t.value_from).secret_key_ref);
        assert.equal(ref.key, e.valueFrom.secretKeyRef.key, `${e.name} from the Secret's key`);
        assert.match(String(ref.name), /kubernetes_secret_v1\.relay/);
        assert.equal(e.valueFrom.secretKeyRef.name, 'funclet-relay');
      } else if (e.valueFrom?.fieldRef) {
        const ref = one(one(t.value_from).field_ref);
        assert.equal(
          ref.field_path,
          e.valueFrom.fieldRef.fieldPath,
          `${e.name} from the pod's ${e.valueFrom.fieldRef.fieldPath}`,
        );
      } else if (e.name === 'FUNCLET_RELAY_MAX_IN_FLIGHT') {
        assert.equal(t.value, '${tostring(var.relay_max_in_flight)}');
        assert.equal(String(one(variables.relay_max_in_flight).default), e.value, 'the same default');
      } else if (e.name !== 'FUNCLET_RELAY_NODES') {
        assert.equal(t.value, e.value, e.name);
      }
    }

    const probe = (b: unknown) => one(one(b).http_get);
    assert.equal(probe(tfContainer.liveness_probe).path, container.livenessProbe!.httpGet!.path);
    assert.equal(probe(tfContainer.readiness_probe).path, container.readinessProbe!.httpGet!.path);
    assert.deepEqual(
      (tfContainer.port as { name: string; container_port: number }[]).map((p) => [p.name, p.container_port]),
      container.ports!.map((p) => [p.name, p.containerPort]),
    );
    assert.deepEqual(one(tfContainer.resources).requests, container.resources!.requests);
    assert.deepEqual(one(tfContainer.resources).limits, container.resources!.limits);

    const tfSecurity = one(tfContainer.security_context);
    const security = container.securityContext!;
    assert.equal(tfSecurity.run_as_non_root, security.runAsNonRoot);
    assert.equal(tfSecurity.allow_privilege_escalation, security.allowPrivilegeEscalation);
    assert.equal(tfSecurity.read_only_root_filesystem, security.readOnlyRootFilesystem);
    assert.deepEqual(one(tfSecurity.capabilities).drop, security.capabilities!.drop);
  });
});

/**
 * Every namespaced object of the cluster Terraform module depends on the namespace it lives in,
 * when the module creates that namespace: Terraform orders creation (and destruction) by
 * references only, so an object that names "funclet-system" literally may be created before the
 * namespace exists ("namespaces \"funclet-system\" not found" on the first apply). A reference to
 * anything that itself depends on the namespace is enough. Namespaces every cluster has
 * (kube-system, kube-node-lease) need no dependency.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { path } from './deployments.ts';
import { Ref, text, valueTraversals } from './hcl.ts';
import {
  ModuleEvaluation,
  loadModule,
  moduleFromText,
  type Block,
  type TerraformModule,
} from './terraform.ts';

const builtInNamespaces = ['default', 'kube-system', 'kube-node-lease', 'kube-public'];

/** "type.name" of the resources a block refers to, depends_on included. */
function references(module: TerraformModule, block: Block): string[] {
  return valueTraversals(block)
    .map((t) => t.split('.').slice(0, 2).join('.'))
    .filter((a) => module.resources.has(a));
}

function problems(module: TerraformModule): string[] {
  const evaluation = new ModuleEvaluation(module, {
    nodes: ['funclet-node'],
    relay_image: 'registry/relay@sha256:0',
  });
  const namespaceOf = (block: Block): string | undefined => {
    const metadata = (block.metadata as Block[] | undefined)?.[0];
    if (!metadata || !('namespace' in metadata)) return undefined;
    const value = evaluation.value(metadata.namespace);
    if (!(value instanceof Ref)) return text(value);
    // kubernetes_namespace_v1.x.metadata[0].name: the name that namespace resource gives.
    const m = /^(kubernetes_namespace(?:_v1)?\.\w+)\.metadata\[0\]\.name$/.exec(value.path);
    const ns = m ? module.resources.get(m[1]!) : undefined;
    return ns ? text(evaluation.value((ns.metadata as Block[])[0]!.name)) : value.path;
  };
  const created = new Map<string, string>();
  for (const [address, block] of module.resources)
    if (/^kubernetes_namespace(_v1)?\./.test(address))
      created.set(text(evaluation.value((block.metadata as Block[])[0]!.name)), address);

  const dependsOn = (from: string, target: string, seen = new Set<string>()): boolean => {
    if (from === target) return true;
    if (seen.has(from)) return false;
    seen.add(from);
    return references(module, module.resources.get(from)!).some((r) => dependsOn(r, target, seen));
  };

  const found: string[] = [];
  for (const [address, block] of module.resources) {
    if (!address.startsWith('kubernetes_') || /^kubernetes_namespace(_v1)?\./.test(address)) continue;
    const namespace = namespaceOf(block);
    if (namespace === undefined || builtInNamespaces.includes(namespace)) continue;
    const creator = created.get(namespace);
    if (!creator)
      found.push(`${address} is in namespace ${namespace}, which neither the module nor the cluster creates`);
    else if (!dependsOn(address, creator))
      found.push(`${address} is in namespace ${namespace} but does not depend on ${creator}`);
  }
  return found;
}

describe('the cluster Terraform module', () => {
  it('an object that names its namespace without depending on it is reported, so the check can fail', async () => {
    const module = await moduleFromText(
      path('infra/terraform/modules/cluster'),
      'snippet.tf',
      `
      resource "kubernetes_namespace_v1" "ns" {
        metadata { name = "funclet-system" }
      }
      resource "kubernetes_service_account_v1" "sa" {
        metadata {
          name      = "sa"
          namespace = kubernetes_namespace_v1.ns.metadata[0].name
        }
      }
      resource "kubernetes_secret_v1" "through_sa" {
        metadata {
          name      = "s1"
          namespace = "funclet-system"
          annotations = { "kubernetes.io/service-account.name" = kubernetes_service_account_v1.sa.metadata[0].name }
        }
      }
      resource "kubernetes_secret_v1" "literal" {
        metadata {
          name      = "s2"
          namespace = "funclet-system"
        }
      }
      resource "kubernetes_secret_v1" "elsewhere" {
        metadata {
          name      = "s3"
          namespace = "kube-system"
        }
      }
      `,
    );
    assert.deepEqual(problems(module), [
      'kubernetes_secret_v1.literal is in namespace funclet-system but does not depend on kubernetes_namespace_v1.ns',
    ]);
  });

  it('every namespaced object depends on the namespace the module creates for it', async () => {
    const module = await loadModule(path('infra/terraform/modules/cluster'));
    assert.ok([...module.resources.keys()].some((a) => a.startsWith('kubernetes_namespace_v1.')));
    assert.deepEqual(problems(module), []);
  });
});

/**
 * A container's environment, as the kubelet's makeEnvironmentVariables builds it:
 * 1. service link variables (computed once per pod, passed in);
 * 2. `envFrom` in order: every key of the ConfigMap or Secret, with the prefix;
 * 3. `env` in order: `value` with `$(VAR)` expanded against what is defined so far, or
 *    `valueFrom` (ConfigMap/Secret key, pod field, container resource).
 * A later definition of a name replaces an earlier one and moves to where it was declared, so the
 * list reads in the order the winning definitions were declared, each name once.
 *
 * Missing optional sources and keys are skipped (the variable keeps any earlier value); missing
 * required ones are a ContainerConfigError naming the object and key. Values read from Secrets,
 * and values expanded from them, are marked `secret`.
 */
import type { V1Container, V1EnvVar } from '@kubernetes/client-node';
import type { EnvVar } from '../../providers/types.ts';
import { configMapFor, decodeSecretValue, missing, secretFor, type PodContext } from './context.ts';
import { containerResourceValue, podContainer, podFieldValue } from './downward.ts';
import { expand } from './expand.ts';
import { InvalidInputError } from '../../errors.ts';

export async function containerEnv(
  ctx: PodContext,
  container: V1Container,
  serviceEnv: readonly EnvVar[],
): Promise<EnvVar[]> {
  const env = new Map<string, EnvVar>();
  const define = (name: string, value: string, secret: boolean) => {
    env.delete(name);
    env.set(name, { name, value, secret });
  };
  for (const v of serviceEnv) define(v.name, v.value, v.secret);

  const neededBy = `the env of container "${container.name}"`;
  for (const from of container.envFrom ?? []) {
    const prefix = from.prefix ?? '';
    let data: Record<string, string> = {};
    let secret = false;
    if (from.configMapRef) {
      const ref = from.configMapRef;
      data = (await configMapFor(ctx, ref.name ?? '', ref.optional, neededBy))?.data ?? {};
    } else if (from.secretRef) {
      const ref = from.secretRef;
      const encoded = (await secretFor(ctx, ref.name ?? '', ref.optional, neededBy))?.data ?? {};
      data = Object.fromEntries(Object.entries(encoded).map(([k, v]) => [k, decodeSecretValue(v)]));
      secret = true;
    }
    const invalid: string[] = [];
    for (const key of Object.keys(data).sort()) {
      const name = prefix + key;
      if (!isEnvVarName(name)) invalid.push(name);
      else define(name, data[key]!, secret);
    }
    if (invalid.length > 0) {
      const source = from.configMapRef
        ? `configMap ${ctx.namespace}/${from.configMapRef.name}`
        : `secret ${ctx.namespace}/${from.secretRef?.name ?? ''}`;
      ctx.warnings.push({
        reason: 'InvalidEnvironmentVariableNames',
        message: `Keys [${invalid.join(', ')}] from the EnvFrom ${source} were skipped since they are considered invalid environment variable names.`,
      });
    }
  }

  for (const v of container.env ?? []) {
    const resolved = await envValue(ctx, container, v, env, neededBy);
    if (resolved) define(v.name, resolved.value, resolved.secret);
  }
  return [...env.values()];
}

/** One `env` entry's value, or undefined when it comes from a missing optional source. */
async function envValue(
  ctx: PodContext,
  container: V1Container,
  v: V1EnvVar,
  defined: ReadonlyMap<string, EnvVar>,
  neededBy: string,
): Promise<{ value: string; secret: boolean } | undefined> {
  if (v.value) {
    let secret = false;
    const value = expand(v.value, (name) => {
      const found = defined.get(name);
      if (found?.secret) secret = true;
      return found?.value;
    });
    return { value, secret };
  }
  const from = v.valueFrom;
  if (!from) return { value: '', secret: false };
  if (from.configMapKeyRef) {
    const { name = '', key, optional } = from.configMapKeyRef;
    const configMap = await configMapFor(ctx, name, optional, neededBy);
    const value = configMap?.data?.[key];
    if (value === undefined) return skipOrFail(optional, 'ConfigMap', name, key);
    return { value, secret: false };
  }
  if (from.secretKeyRef) {
    const { name = '', key, optional } = from.secretKeyRef;
    const secret = await secretFor(ctx, name, optional, neededBy);
    const encoded = secret?.data?.[key];
    if (encoded === undefined) return skipOrFail(optional, 'Secret', name, key);
    return { value: decodeSecretValue(encoded), secret: true };
  }
  if (from.fieldRef) {
    try {
      return { value: podFieldValue(ctx.pod, from.fieldRef, ctx.options.podIP), secret: false };
    } catch (err) {
      if (!(err instanceof InvalidInputError)) throw err;
      throw new InvalidInputError(`env ${v.name} of container "${container.name}": ${err.message}`, {
        cause: err,
      });
    }
  }
  if (from.resourceFieldRef) {
    const selector = from.resourceFieldRef;
    const target = selector.containerName ? podContainer(ctx.pod, selector.containerName) : container;
    return {
      value: containerResourceValue(target, selector, ctx.options.nodeAllocatable),
      secret: false,
    };
  }
  throw new InvalidInputError(
    `env ${v.name} of container "${container.name}" has a valueFrom source Funclet does not support`,
  );

  function skipOrFail(
    optional: boolean | undefined,
    kind: 'ConfigMap' | 'Secret',
    name: string,
    key: string,
  ) {
    // A missing object, optional or not, was already dealt with by configMapFor/secretFor.
    if (optional) return undefined;
    throw missing({ kind, namespace: ctx.namespace, name, key }, neededBy);
  }
}

/**
 * A name the kubelet puts into the environment. Since RelaxedEnvironmentVariableValidation
 * (GA in 1.34) the kubelet no longer filters envFrom keys by the old C-identifier-like rule; a
 * name is usable when it is non-empty printable ASCII without '='. Anything else would corrupt
 * the NAME=value environment block, so it is skipped with the kubelet's warning.
 */
export function isEnvVarName(name: string): boolean {
  return /^[\x20-\x3c\x3e-\x7e]+$/.test(name);
}

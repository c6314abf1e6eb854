import { InvalidInputError } from '../../errors.ts';

/** The object (and key) a pod refers to that the API server does not have. */
export interface MissingReference {
  kind: 'ConfigMap' | 'Secret' | 'ServiceAccount';
  namespace: string;
  name: string;
  key?: string;
}

/**
 * The kubelet's CreateContainerConfigError: the pod refers to a ConfigMap, Secret or key that
 * does not exist (yet), or its env cannot be built. Unlike other InvalidInputErrors this one is
 * retryable: the reconcile engine leaves the pod Pending with reason CreateContainerConfigError
 * and an Event, and resolves again on the next pass, when the object may have been created.
 */
export class ContainerConfigError extends InvalidInputError {
  readonly reason = 'CreateContainerConfigError';
  readonly missing: MissingReference | undefined;
  constructor(message: string, options?: { cause?: unknown; missing?: MissingReference }) {
    super(message, options);
    this.missing = options?.missing;
  }
}

/** `kind "namespace/name"`, or with a key: `key "k" in kind "namespace/name"`. */
export function describeReference(ref: MissingReference): string {
  const object = `${ref.kind} "${ref.namespace}/${ref.name}"`;
  return ref.key === undefined ? object : `key "${ref.key}" in ${object}`;
}

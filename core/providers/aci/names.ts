/**
 * Container group names. ACI accepts 1-63 lowercase letters, digits and single hyphens, with no
 * hyphen first or last (and none doubled). A group is named `<namespace>-<pod>-<suffix>`: readable
 * in the portal, and deterministic so that every invocation creating the same pod aims at the same
 * group. The suffix hashes the pod UID and Funclet's attempt number, so a pod recreated under the
 * same name, or Funclet's next attempt for the same pod, never collides with a predecessor that is
 * still being deleted.
 */
import { createHash } from 'node:crypto';

const maxLength = 63;
const suffixLength = 8;
const validName = /^[a-z0-9]+(-[a-z0-9]+)*$/;

export interface NamedPod {
  namespace: string;
  name: string;
  uid: string;
  attempt: number;
}

export function containerGroupName(pod: NamedPod): string {
  const suffix = createHash('sha256')
    .update(`${pod.uid}/${pod.attempt}`)
    .digest('hex')
    .slice(0, suffixLength);
  const readable = `${pod.namespace}-${pod.name}`
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-') // dots, underscores and runs of hyphens become one hyphen
    .replace(/^-+/, '')
    .slice(0, maxLength - suffixLength - 1)
    .replace(/-+$/, '');
  return readable === '' ? suffix : `${readable}-${suffix}`;
}

/** Whether ACI accepts this as a container group name. */
export function isValidContainerGroupName(name: string): boolean {
  return name.length >= 1 && name.length <= maxLength && validName.test(name);
}

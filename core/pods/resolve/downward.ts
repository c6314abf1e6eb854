/**
 * The downward API: pod fields and container resources as strings, exactly as the kubelet
 * renders them for env vars (podFieldSelectorRuntimeValue, containerResourceRuntimeValue) and for
 * downwardAPI volume files (pkg/fieldpath). A field or resource the kubelet cannot render is an
 * InvalidInputError: the pod spec will not get better by retrying.
 */
import type {
  V1Container,
  V1ObjectFieldSelector,
  V1Pod,
  V1ResourceFieldSelector,
} from '@kubernetes/client-node';
import { InvalidInputError } from '../../errors.ts';
import { parseQuantity, quantityMilliValue, quantityValue } from './quantity.ts';
import { requestsOf } from './resources.ts';

/** The downward API fields that name the pod's (and, on a virtual node, its host's) address. */
const addressFields: ReadonlySet<string> = new Set([
  'status.podIP',
  'status.podIPs',
  'status.hostIP',
  'status.hostIPs',
]);

/**
 * Whether any container's env asks for the pod's address (status.podIP, podIPs, hostIP,
 * hostIPs), which the kubelet knows before it starts the containers and a provider may not.
 */
export function needsPodAddress(pod: V1Pod): boolean {
  return [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].some((c) =>
    (c.env ?? []).some((e) => addressFields.has(e.valueFrom?.fieldRef?.fieldPath ?? '')),
  );
}

/**
 * The value of `fieldRef.fieldPath`. The address fields resolve to `podIP`, the address the
 * provider reserved for the instance before creating it; a virtual node has no host of its own,
 * so hostIP is the pod's IP, as its status says. Without one they are refused: an empty value
 * would be silently wrong, and the instance's address is only known once it runs.
 */
export function podFieldValue(
  pod: V1Pod,
  selector: V1ObjectFieldSelector,
  podIP: string | undefined,
): string {
  const { fieldPath } = selector;
  if (selector.apiVersion && selector.apiVersion !== 'v1') {
    throw new InvalidInputError(`fieldRef ${fieldPath}: unsupported apiVersion ${selector.apiVersion}`);
  }
  const metadata = pod.metadata ?? {};
  const subscripted = /^(metadata\.(?:labels|annotations))\['(.*)'\]$/s.exec(fieldPath);
  if (subscripted) {
    const map = subscripted[1] === 'metadata.labels' ? metadata.labels : metadata.annotations;
    return map?.[subscripted[2]!] ?? '';
  }
  if (addressFields.has(fieldPath)) {
    if (podIP === undefined) {
      throw new InvalidInputError(
        `${fieldPath} is not known before the pod's instance starts: this provider assigns the address only when it creates the instance, and cannot reserve one in advance`,
      );
    }
    return podIP;
  }
  switch (fieldPath) {
    case 'metadata.name':
      return metadata.name ?? '';
    case 'metadata.namespace':
      return metadata.namespace ?? '';
    case 'metadata.uid':
      return metadata.uid ?? '';
    case 'metadata.labels':
      return formatMap(metadata.labels);
    case 'metadata.annotations':
      return formatMap(metadata.annotations);
    case 'spec.nodeName':
      return pod.spec?.nodeName ?? '';
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName ?? '';
    default:
      throw new InvalidInputError(`fieldRef ${fieldPath} is not supported by the downward API`);
  }
}

/** fieldpath.FormatMap: `key="value"` lines in key order, values quoted as Go's %q does. */
export function formatMap(map: Readonly<Record<string, string>> | undefined): string {
  return Object.keys(map ?? {})
    .sort()
    .map((key) => `${key}=${goQuote(map![key]!)}`)
    .join('\n');
}

const goEscapes: Readonly<Record<string, string>> = {
  '\x07': '\\a',
  '\b': '\\b',
  '\f': '\\f',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\v': '\\v',
  '\\': '\\\\',
  '"': '\\"',
};
const printable = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;

/** strconv.Quote. */
function goQuote(value: string): string {
  let out = '"';
  for (const ch of value) {
    const code = ch.codePointAt(0)!;
    const escape = goEscapes[ch];
    if (escape) out += escape;
    else if (code >= 0x20 && code < 0x7f) out += ch;
    else if (code < 0x80) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else if (printable.test(ch)) out += ch;
    else if (code < 0x10000) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += `\\U${code.toString(16).padStart(8, '0')}`;
  }
  return `${out}"`;
}

const resourceNames: Readonly<Record<string, string>> = {
  cpu: 'cpu',
  memory: 'memory',
  'ephemeral-storage': 'ephemeral-storage',
};

/**
 * The value of `resourceFieldRef` for `container` (apimachinery ExtractContainerResourceValue):
 * the quantity divided by the divisor (default 1), rounded up; CPU in millicores first, so that
 * `limits.cpu` of 250m is "1" with divisor 1 and "250" with divisor 1m. A limit the container does
 * not set is the node's allocatable (kubelet defaultPodLimitsForDownwardAPI), or without one the
 * container's request.
 */
export function containerResourceValue(
  container: V1Container,
  selector: V1ResourceFieldSelector,
  nodeAllocatable: Readonly<Record<string, string>> | undefined,
): string {
  const [kind, resource = ''] = splitOnce(selector.resource, '.');
  const name = resourceNames[resource];
  if ((kind !== 'limits' && kind !== 'requests') || !name) {
    throw new InvalidInputError(`resourceFieldRef ${selector.resource} is not supported by the downward API`);
  }
  const requests = requestsOf(container);
  const setLimit = container.resources?.limits?.[name];
  const text =
    kind === 'requests'
      ? requests[name]
      : setLimit !== undefined && !isZero(setLimit)
        ? setLimit
        : (nodeAllocatable?.[name] ?? requests[name]);
  const amount = parseQuantity(text ?? '0');
  const divisor = parseQuantity(selector.divisor ?? '1');
  const scaled = name === 'cpu' ? quantityMilliValue : quantityValue;
  const denominator = scaled(divisor);
  if (denominator <= 0n) {
    throw new InvalidInputError(
      `resourceFieldRef ${selector.resource}: divisor ${selector.divisor} is not positive`,
    );
  }
  return ceilDiv(scaled(amount), denominator).toString();
}

/** A container or init container of the pod, by name (resourceFieldRef.containerName). */
export function podContainer(pod: V1Pod, name: string): V1Container {
  const spec = pod.spec;
  const found = [...(spec?.containers ?? []), ...(spec?.initContainers ?? [])].find((c) => c.name === name);
  if (!found) {
    throw new InvalidInputError(`resourceFieldRef names container "${name}", which the pod does not have`);
  }
  return found;
}

function isZero(text: string): boolean {
  return parseQuantity(text).digits === 0n;
}

function ceilDiv(n: bigint, d: bigint): bigint {
  const q = n / d;
  return n % d !== 0n && n > 0n ? q + 1n : q;
}

function splitOnce(text: string, separator: string): [string, string | undefined] {
  const at = text.indexOf(separator);
  return at === -1 ? [text, undefined] : [text.slice(0, at), text.slice(at + 1)];
}

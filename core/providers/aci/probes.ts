/**
 * Kubernetes liveness/readiness probes as ACI container probes. ACI runs exec and httpGet probes
 * against the container itself; it has no tcpSocket, grpc or startup probes, and no probe host.
 * Problems are sentences for the pod's status, collected by the caller.
 */
import type { V1Probe } from '@kubernetes/client-node';
import type { ContainerProbe } from '@azure/arm-containerinstance';
import type { ResolvedContainer } from '../types.ts';

export function aciProbe(
  probe: V1Probe | undefined,
  kind: 'liveness' | 'readiness',
  container: ResolvedContainer,
  problems: string[],
): ContainerProbe | undefined {
  if (probe === undefined) return undefined;
  const where = `The ${kind} probe of container "${container.name}"`;
  if (probe.tcpSocket !== undefined) {
    problems.push(`${where} uses tcpSocket, which ACI does not support; use an exec or httpGet probe.`);
    return undefined;
  }
  if (probe.grpc !== undefined) {
    problems.push(`${where} uses grpc, which ACI does not support; use an exec or httpGet probe.`);
    return undefined;
  }
  const timing = {
    initialDelaySeconds: probe.initialDelaySeconds,
    periodSeconds: probe.periodSeconds,
    failureThreshold: probe.failureThreshold,
    successThreshold: probe.successThreshold,
    timeoutSeconds: probe.timeoutSeconds,
  };
  if (probe.exec !== undefined) {
    if (!probe.exec.command?.length) {
      problems.push(`${where} has an exec action without a command.`);
      return undefined;
    }
    return { exec: { command: probe.exec.command }, ...timing };
  }
  if (probe.httpGet !== undefined) {
    const http = probe.httpGet;
    if (http.host !== undefined && http.host !== '') {
      problems.push(`${where} sets an httpGet host, but ACI probes always connect to the container itself.`);
      return undefined;
    }
    const port = typeof http.port === 'number' ? http.port : namedPort(container, http.port);
    if (port === undefined) {
      problems.push(`${where} names port "${String(http.port)}", which the container does not declare.`);
      return undefined;
    }
    return {
      httpGet: {
        path: http.path,
        port,
        scheme: http.scheme?.toLowerCase() === 'https' ? 'https' : 'http',
        httpHeaders: http.httpHeaders?.map((h) => ({ name: h.name, value: h.value })),
      },
      ...timing,
    };
  }
  problems.push(`${where} has no exec or httpGet action, the only kinds ACI runs.`);
  return undefined;
}

/** A port given by name (or as a numeric string) resolved against the container's ports. */
function namedPort(container: ResolvedContainer, port: string): number | undefined {
  if (/^\d+$/.test(port)) return Number(port);
  return container.ports.find((p) => p.name === port)?.containerPort;
}

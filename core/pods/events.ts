import type { V1Pod } from '@kubernetes/client-node';
import type { KubeClients } from '../kube/clients.ts';
import type { Logger } from '../log.ts';

export interface PodEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

/**
 * Records a Kubernetes Event about the pod, as the kubelet's event recorder does. An event that
 * cannot be written is logged and dropped: events are for people, never for correctness.
 */
export async function recordPodEvent(
  kube: KubeClients,
  pod: V1Pod,
  event: PodEvent,
  context: { node: string; nowMs: number; logger: Logger },
): Promise<void> {
  const namespace = pod.metadata?.namespace ?? 'default';
  const name = pod.metadata?.name ?? '';
  const now = new Date(context.nowMs);
  try {
    await kube.core.createNamespacedEvent({
      namespace,
      body: {
        metadata: {
          name: `${name}.${context.nowMs.toString(16)}${Math.floor(Math.random() * 0xfff).toString(16)}`,
          namespace,
        },
        involvedObject: {
          apiVersion: 'v1',
          kind: 'Pod',
          namespace,
          name,
          uid: pod.metadata?.uid,
          resourceVersion: pod.metadata?.resourceVersion,
        },
        type: event.type,
        reason: event.reason,
        message: event.message,
        source: { component: 'funclet', host: context.node },
        reportingComponent: 'funclet',
        reportingInstance: context.node,
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      },
    });
  } catch (err) {
    context.logger.warn('event not recorded', { reason: event.reason, error: err });
  }
}

/**
 * The JSON that ARM exchanges for Microsoft.ContainerInstance/containerGroups at api-version
 * 2023-05-01 (the version @azure/arm-containerinstance 9.x sends), as the fake stores and serves
 * it. Only the parts the fake reads are typed; the rest passes through untouched.
 */

export const apiVersion = '2023-05-01';
export const resourceType = 'Microsoft.ContainerInstance/containerGroups';

export interface ArmError {
  status: number;
  code: string;
  message: string;
}

export interface WireState {
  state: 'Waiting' | 'Running' | 'Terminated';
  startTime?: string;
  finishTime?: string;
  exitCode?: number;
  detailStatus?: string;
}

export interface WireEvent {
  count: number;
  firstTimestamp: string;
  lastTimestamp: string;
  name: string;
  message: string;
  type: 'Normal' | 'Warning';
}

export interface WireInstanceView {
  restartCount: number;
  currentState: WireState;
  previousState?: WireState;
  events: WireEvent[];
}

export interface WireResources {
  requests?: { cpu?: number; memoryInGB?: number; gpu?: { count: number; sku: string } };
  limits?: { cpu?: number; memoryInGB?: number; gpu?: { count: number; sku: string } };
}

export interface WireContainer {
  name: string;
  properties: {
    image?: string;
    command?: string[];
    ports?: { port: number; protocol?: string }[];
    environmentVariables?: { name: string; value?: string; secureValue?: string }[];
    resources?: WireResources;
    volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
    livenessProbe?: Record<string, unknown>;
    readinessProbe?: Record<string, unknown>;
    instanceView?: WireInstanceView;
    [other: string]: unknown;
  };
}

export interface WireVolume {
  name: string;
  azureFile?: {
    shareName: string;
    storageAccountName: string;
    storageAccountKey?: string;
    readOnly?: boolean;
  };
  emptyDir?: Record<string, unknown>;
  secret?: Record<string, string>;
  gitRepo?: Record<string, unknown>;
}

export interface WireGroup {
  id?: string;
  name?: string;
  type?: string;
  location: string;
  tags?: Record<string, string>;
  properties: {
    containers: WireContainer[];
    initContainers?: WireContainer[];
    osType: string;
    restartPolicy?: string;
    ipAddress?: {
      type: string;
      ports?: { port: number; protocol?: string }[];
      ip?: string;
      [other: string]: unknown;
    };
    volumes?: WireVolume[];
    imageRegistryCredentials?: { server: string; username?: string; password?: string }[];
    subnetIds?: { id: string }[];
    provisioningState?: string;
    instanceView?: { state: string; events: WireEvent[] };
    [other: string]: unknown;
  };
  [other: string]: unknown;
}

export function armError(status: number, code: string, message: string): ArmError {
  return { status, code, message };
}

/** ARM location names compare without case or spaces ("West US" is "westus"). */
export function normalizeLocation(location: string): string {
  return location.replace(/\s+/g, '').toLowerCase();
}

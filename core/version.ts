import packageJson from '../package.json' with { type: 'json' };

/** Funclet's own version, from package.json. */
export const funcletVersion: string = packageJson.version;

/** The Kubernetes minor Funclet implements the kubelet contract of; reported in nodeInfo. */
export const kubeletApiVersion = 'v1.34.4';

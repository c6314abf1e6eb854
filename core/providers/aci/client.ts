/**
 * The ARM client for ACI, built on first use so that the SDK (and @azure/identity) load only when
 * an ACI node actually does something.
 *
 * - The endpoint override (sovereign clouds, the test fake) sets both the request host and the
 *   token scope (`<endpoint>/.default`).
 * - The SDK's own retries are off: retry.ts owns retrying, inside a time budget.
 * - `trustedCaPem` adds a CA for the ARM endpoint's TLS certificate. The SDK refuses to send a
 *   bearer token over plain http, so the test fake serves https with a throwaway certificate.
 */
import type { TokenCredential } from '@azure/identity';
import type { ContainerInstanceManagementClient } from '@azure/arm-containerinstance';
import type { AciConfig } from '../../config.ts';

export interface ClientDeps {
  credential?: TokenCredential;
  trustedCaPem?: string;
}

export async function createAciClient(
  config: AciConfig,
  deps: ClientDeps,
): Promise<ContainerInstanceManagementClient> {
  const { ContainerInstanceManagementClient } = await import('@azure/arm-containerinstance');
  const credential = deps.credential ?? (await defaultCredential());
  const endpoint = config.armEndpoint?.replace(/\/+$/, '');
  return new ContainerInstanceManagementClient(credential, config.subscriptionId, {
    ...(endpoint === undefined ? {} : { endpoint, $host: endpoint }),
    retryOptions: { maxRetries: 0 },
    userAgentOptions: { userAgentPrefix: 'funclet' },
    ...(deps.trustedCaPem === undefined ? {} : { tlsOptions: { ca: deps.trustedCaPem } }),
  });
}

export async function defaultCredential(): Promise<TokenCredential> {
  const { DefaultAzureCredential } = await import('@azure/identity');
  return new DefaultAzureCredential();
}

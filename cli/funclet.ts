#!/usr/bin/env node
/**
 * The `funclet` command.
 *
 *   funclet local [options]       run Funclet's main job locally (control plane, Azurite, mock provider)
 *   funclet relay                 run the in-cluster relay (settings from the environment)
 *   funclet attach [options]      connect a cluster: infra/k8s, the functions' kubeconfig, the relay
 *
 * Each command's module is loaded only when it runs, so the relay image never loads the local run.
 */
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError } from '../core/errors.ts';

const usage = `usage: funclet <command> [options]

commands:
  local [--node NAME] [--kubeconfig PATH [--context NAME]] [--provider mock|aci|ecs]
                        run Funclet locally: a local control plane (or the cluster of
                        --kubeconfig; $KUBECONFIG is never used), Azurite, the mock provider (or
                        ACI or ECS, with FUNCLET_ACI_* or FUNCLET_ECS_* from the environment and
                        the cloud SDK's default credentials), the functions and the relay; prints
                        what it will create first; Ctrl-C stops
  relay                 run the in-cluster relay (FUNCLET_RELAY_NODES, FUNCLET_WEBHOOK_URL,
                        FUNCLET_WEBHOOK_SECRET, FUNCLET_RELAY_PORT, FUNCLET_RELAY_MAX_IN_FLIGHT)
  attach --node NAME... (--key-vault-secret URI | --out FILE) [--kubeconfig PATH]
         [--context NAME] [--identity node|service-account] [--certificate-expiration-seconds N]
         [--token-expiration-seconds N] [--webhook-url URL --relay-image IMAGE]
         [--function-app-cidr CIDR...] [--helm-values FILE]
                        with an admin kubeconfig: install infra/k8s, issue each virtual node its
                        system:node: certificate (or the ServiceAccount fallback's token) and
                        write the kubeconfig for FUNCLET_KUBECONFIG to the vault secret (or a
                        file, mode 0600); it is never printed. With the webhook options also the
                        relay (its secret from $FUNCLET_WEBHOOK_SECRET, the function key from the
                        URL's ?code= or $FUNCLET_FUNCTION_KEY). With --helm-values it changes
                        nothing: it writes the values of the Helm chart infra/helm/funclet that
                        make the same objects in this cluster (mode 0600: they hold the webhook
                        secret), for \`helm upgrade --install\`; attach then issues the credential
`;

function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => resolve());
  });
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'local': {
      const { parseLocalArgs } = await import('./localOptions.ts');
      const { runLocal } = await import('./local.ts');
      // Only the flags choose a cluster: $KUBECONFIG may name one the user did not mean.
      const stop = await runLocal(parseLocalArgs(rest));
      await untilSignal();
      process.stdout.write('stopping\n');
      await stop();
      return 0;
    }
    case 'relay': {
      const { relayOptionsFromEnv, runRelay } = await import('./relay.ts');
      const relay = await runRelay(relayOptionsFromEnv(process.env));
      await untilSignal();
      await relay.stop();
      return 0;
    }
    case 'attach': {
      const { values } = parseArgs({
        args: rest,
        options: {
          kubeconfig: { type: 'string' },
          context: { type: 'string' },
          out: { type: 'string', short: 'o' },
          'key-vault-secret': { type: 'string' },
          identity: { type: 'string', default: 'node' },
          'certificate-expiration-seconds': { type: 'string' },
          'token-expiration-seconds': { type: 'string' },
          'webhook-url': { type: 'string' },
          node: { type: 'string', multiple: true },
          'relay-image': { type: 'string' },
          'function-app-cidr': { type: 'string', multiple: true },
          'helm-values': { type: 'string' },
        },
      });
      const { chartValues, runAttach } = await import('./attach.ts');
      const { fileKubeconfigStore, keyVaultKubeconfigStore } =
        await import('../core/kube/kubeconfigStore.ts');
      const identity = values.identity;
      if (identity !== 'node' && identity !== 'service-account')
        throw new Error(`--identity must be node or service-account, not ${identity}`);
      const seconds = (v: string | undefined) => (v === undefined ? undefined : Number(v));
      const kubeconfigPath =
        values.kubeconfig ?? process.env.KUBECONFIG?.split(':')[0] ?? join(homedir(), '.kube', 'config');
      const common = {
        adminKubeconfigText: readFileSync(kubeconfigPath, 'utf8'),
        adminContext: values.context,
        webhookUrl: values['webhook-url'],
        // From the environment, never argv (every local user can read a command line); only with
        // --webhook-url, so that a secret exported for other reasons does not ask for a relay.
        webhookSecret: values['webhook-url'] === undefined ? undefined : process.env.FUNCLET_WEBHOOK_SECRET,
        functionKey: process.env.FUNCLET_FUNCTION_KEY,
        nodes: values.node ?? [],
        identity,
        relayImage: values['relay-image'],
        functionAppCidrs: values['function-app-cidr'],
      } as const;
      const helmValues = values['helm-values'];
      if (helmValues !== undefined) {
        writeFileSync(helmValues, JSON.stringify(await chartValues(common), null, 2) + '\n', { mode: 0o600 });
        chmodSync(helmValues, 0o600);
        process.stdout.write(
          `wrote the chart's values to ${helmValues}; install with: helm upgrade --install funclet infra/helm/funclet --namespace default --values ${helmValues}\n` +
            'then issue the credential: funclet attach with the same --node and --out or --key-vault-secret, without --webhook-url\n',
        );
        return 0;
      }
      const vaultSecret = values['key-vault-secret'];
      if ((vaultSecret === undefined) === (values.out === undefined))
        throw new Error(
          'give one of --key-vault-secret URI and --out FILE: the kubeconfig holds keys and is never printed',
        );
      const store =
        vaultSecret !== undefined ? keyVaultKubeconfigStore(vaultSecret) : fileKubeconfigStore(values.out!);
      await runAttach({
        ...common,
        certificateExpirationSeconds: seconds(values['certificate-expiration-seconds']),
        tokenExpirationSeconds: seconds(values['token-expiration-seconds']),
        store,
        out: (text) => process.stdout.write(text),
        log: (line) => process.stderr.write(`${line}\n`),
      });
      return 0;
    }
    case undefined:
    case 'help':
    case '--help':
      process.stdout.write(usage);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`unknown command ${command}\n${usage}`);
      return 2;
  }
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`funclet: ${err.message}\n`);
  process.exitCode = 2;
}

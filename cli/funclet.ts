#!/usr/bin/env node
/**
 * The `funclet` command.
 *
 *   funclet local [--node NAME]   run Funclet's main job locally (control plane, Azurite, mock provider)
 *   funclet relay                 run the in-cluster relay (settings from the environment)
 *   funclet attach [options]      connect a cluster: infra/k8s, the functions' kubeconfig, the relay
 *
 * Each command's module is loaded only when it runs, so the relay image never loads the local run.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError } from '../core/errors.ts';

const usage = `usage: funclet <command> [options]

commands:
  local [--node NAME]   run Funclet locally: a local control plane (or $KUBECONFIG), Azurite,
                        the mock provider, the functions and the relay; Ctrl-C stops
  relay                 run the in-cluster relay (FUNCLET_RELAY_NODES, FUNCLET_WEBHOOK_URL,
                        FUNCLET_WEBHOOK_SECRET, FUNCLET_RELAY_PORT, FUNCLET_RELAY_MAX_IN_FLIGHT)
  attach [--kubeconfig PATH] [--context NAME] [--out FILE] [--token-expiration-seconds N]
         [--rotate-token] [--webhook-url URL --node NAME... --relay-image IMAGE]
                        with an admin kubeconfig: install infra/k8s, print (or write, mode 0600)
                        the kubeconfig for FUNCLET_KUBECONFIG; with the webhook options also the
                        relay (its secret from $FUNCLET_WEBHOOK_SECRET)
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
      const { values } = parseArgs({
        args: rest,
        options: { node: { type: 'string', default: 'funclet-local' } },
      });
      const { runLocal } = await import('./local.ts');
      const stop = await runLocal({ nodeName: values.node, kubeconfigPath: process.env.KUBECONFIG });
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
          'token-expiration-seconds': { type: 'string' },
          'rotate-token': { type: 'boolean', default: false },
          'webhook-url': { type: 'string' },
          node: { type: 'string', multiple: true },
          'relay-image': { type: 'string' },
        },
      });
      const { runAttach } = await import('./attach.ts');
      const kubeconfigPath =
        values.kubeconfig ?? process.env.KUBECONFIG?.split(':')[0] ?? join(homedir(), '.kube', 'config');
      const expiration = values['token-expiration-seconds'];
      await runAttach({
        adminKubeconfigText: readFileSync(kubeconfigPath, 'utf8'),
        adminContext: values.context,
        webhookUrl: values['webhook-url'],
        // From the environment, never argv (every local user can read a command line); only with
        // --webhook-url, so that a secret exported for other reasons does not ask for a relay.
        webhookSecret: values['webhook-url'] === undefined ? undefined : process.env.FUNCLET_WEBHOOK_SECRET,
        nodes: values.node,
        relayImage: values['relay-image'],
        tokenExpirationSeconds: expiration === undefined ? undefined : Number(expiration),
        rotateToken: values['rotate-token'],
        out: (text) => process.stdout.write(text),
        log: (line) => process.stderr.write(`${line}\n`),
        writeFile: values.out,
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

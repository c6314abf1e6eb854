/**
 * Runs inside a test host's network namespace (test/support/netns.ts): listens on
 * LISTEN_ADDRESS:LISTEN_PORT and pipes each TCP connection to TARGET_ADDRESS:TARGET_PORT, where
 * the test's own server listens on the root side of the veth pair. Stops on SIGTERM.
 *
 *   node netnsForwarder.ts LISTEN_ADDRESS LISTEN_PORT TARGET_ADDRESS TARGET_PORT
 */
import { connect, createServer } from 'node:net';

const [listenAddress, listenPort, targetAddress, targetPort] = process.argv.slice(2);
if (!listenAddress || !listenPort || !targetAddress || !targetPort) {
  process.stderr.write('usage: netnsForwarder.ts LISTEN_ADDRESS LISTEN_PORT TARGET_ADDRESS TARGET_PORT\n');
  process.exit(2);
}

// Half-open connections pass through: each side's end is forwarded as it comes.
const server = createServer({ allowHalfOpen: true }, (client) => {
  const upstream = connect({ host: targetAddress, port: Number(targetPort), allowHalfOpen: true });
  const close = () => {
    client.destroy();
    upstream.destroy();
  };
  client.on('error', close);
  upstream.on('error', close);
  client.pipe(upstream).pipe(client);
});
server.listen(Number(listenPort), listenAddress, () => {
  process.stdout.write(`forwarding ${listenAddress}:${listenPort} to ${targetAddress}:${targetPort}\n`);
});
process.on('SIGTERM', () => process.exit(0));

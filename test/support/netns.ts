/**
 * A test host with an address of its own, for what refuses loopback (the API server's node
 * proxy refuses loopback node addresses). Each host is a network namespace joined to the root
 * namespace by a veth pair with a /30 from 198.18.0.0/15 (RFC 2544's benchmarking range, never
 * routed): the root side is 198.18.X.1, where the test's own server listens, and the namespace
 * side 198.18.X.2, where a forwarder inside the namespace listens and pipes each connection to
 * the test's server. Traffic to the host's address never leaves the machine.
 *
 * Needs root (CAP_NET_ADMIN) and the `ip` command.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startServer, waitFor, type ServerProcess } from '../../dev/process.ts';

const run = promisify(execFile);
const forwarder = fileURLToPath(new URL('./netnsForwarder.ts', import.meta.url));
/** /30 subnets in 198.18.0.0/15. */
const subnets = 2 ** 15;
const namePrefix = 'fl-';

export interface NetnsHost {
  /** The network namespace's name (`ip netns list`). */
  readonly name: string;
  /** The host's address, 198.18.X.2: what a Node's InternalIP is set to. */
  readonly address: string;
  /** The port the forwarder listens on at `address`. */
  readonly port: number;
  /** The root side of the veth, 198.18.X.1, where the test's server listens. */
  readonly listenAddress: string;
  /** Stops the forwarder and deletes the namespace (its veth pair goes with it). */
  remove(): Promise<void>;
}

export interface NetnsHostOptions {
  /**
   * Starts the test's server on `listenAddress` (any port) and returns the port; the host
   * forwards its own port there.
   */
  listen: (listenAddress: string) => Promise<number>;
  /** The port the host listens on at its address; a kubelet's 10250 by default. */
  port?: number;
}

let created = 0;

/**
 * Creates a network namespace `fl-<pid36>-<n>` with a veth pair on a free /30, starts the
 * test's server on the root side (options.listen) and a forwarder inside the namespace from
 * `address:port` to it. A test run killed before remove() leaves no namespace behind: the
 * forwarder runs behind dev/exit-with-parent.sh and deletes the namespace when it stops, and
 * namespaces of processes that are gone are deleted before a new one is made.
 */
export async function createNetnsHost(options: NetnsHostOptions): Promise<NetnsHost> {
  await removeStaleNamespaces();
  const n = created++;
  const name = `${namePrefix}${process.pid.toString(36)}-${n}`;
  const port = options.port ?? 10250;
  await ip('netns', 'add', name);
  let forwarderProcess: ServerProcess | undefined;
  const logDir = mkdtempSync(join(tmpdir(), 'funclet-netns-'));
  const remove = async () => {
    await forwarderProcess?.stop();
    // The forwarder deletes the namespace as it stops; this covers a forwarder that never started.
    await ip('netns', 'del', name).catch(() => undefined);
    rmSync(logDir, { recursive: true, force: true });
  };
  try {
    const subnet = await claimSubnet(name, n);
    const targetPort = await options.listen(subnet.rootAddress);
    // The guard closes this shell's stdin when the test process goes; the trap then stops the
    // forwarder and deletes the namespace, which takes the veth pair with it.
    const started = startServer(
      `forwarder of ${name}`,
      'bash',
      [
        '-c',
        'trap \'kill -TERM $pid; wait $pid; ip netns del "$1"; exit 0\' TERM; ' +
          'ip netns exec "$1" "$2" "$3" "$4" "$5" "$6" "$7" & pid=$!; ' +
          'wait $pid; ip netns del "$1"',
        'netns-host',
        name,
        process.execPath,
        forwarder,
        subnet.hostAddress,
        String(port),
        subnet.rootAddress,
        String(targetPort),
      ],
      { logFile: join(logDir, 'forwarder.log') },
    );
    forwarderProcess = started;
    await waitFor(
      `the forwarder in network namespace ${name}`,
      () => Promise.resolve(readFileSync(started.logFile, 'utf8').includes('forwarding ')),
      { timeoutMs: 15_000, intervalMs: 50, server: started },
    );
    return {
      name,
      address: subnet.hostAddress,
      port,
      listenAddress: subnet.rootAddress,
      remove,
    };
  } catch (err) {
    await remove();
    throw err;
  }
}

/**
 * Finds a /30 no interface uses, chosen from the process id and `n`, and sets up the veth pair
 * on it. The root-side interface is named after the subnet (`flv<index>r`), so two processes
 * racing for one subnet cannot both create it: the loser tries the next candidate.
 */
async function claimSubnet(name: string, n: number): Promise<{ rootAddress: string; hostAddress: string }> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const digest = createHash('sha256').update(`${process.pid}:${n}:${attempt}`).digest();
    const index = digest.readUInt32BE(0) % subnets;
    const rootAddress = subnetAddress(index, 1);
    const hostAddress = subnetAddress(index, 2);
    if (await addressInUse([subnetAddress(index, 0), rootAddress, hostAddress, subnetAddress(index, 3)])) {
      continue;
    }
    const [rootLink, hostLink] = [`flv${index}r`, `flv${index}n`];
    try {
      await ip('link', 'add', rootLink, 'type', 'veth', 'peer', 'name', hostLink);
    } catch {
      continue; // another host holds this subnet
    }
    try {
      await ip('link', 'set', hostLink, 'netns', name);
      await ip('addr', 'add', `${rootAddress}/30`, 'dev', rootLink);
      await ip('link', 'set', rootLink, 'up');
      await ip('netns', 'exec', name, 'ip', 'addr', 'add', `${hostAddress}/30`, 'dev', hostLink);
      await ip('netns', 'exec', name, 'ip', 'link', 'set', hostLink, 'up');
      await ip('netns', 'exec', name, 'ip', 'link', 'set', 'lo', 'up');
    } catch (err) {
      await ip('link', 'del', rootLink).catch(() => undefined); // its peer goes with it
      throw err;
    }
    return { rootAddress, hostAddress };
  }
  throw new Error(`no free /30 in 198.18.0.0/15 for network namespace ${name} after 20 tries`);
}

/** Address `offset` (0-3) of /30 number `index` in 198.18.0.0/15. */
function subnetAddress(index: number, offset: number): string {
  const value = index * 4 + offset;
  return `198.${18 + (value >> 16)}.${(value >> 8) & 255}.${value & 255}`;
}

async function addressInUse(addresses: string[]): Promise<boolean> {
  const { stdout } = await run('ip', ['-4', '-o', 'addr', 'show']);
  return addresses.some((a) => stdout.includes(` ${a}/`));
}

/** Deletes namespaces this helper made for processes that no longer run (a test run killed hard). */
async function removeStaleNamespaces(): Promise<void> {
  const { stdout } = await run('ip', ['netns', 'list']);
  for (const line of stdout.split('\n')) {
    const name = line.split(' ')[0] ?? '';
    const match = /^fl-([0-9a-z]+)-\d+$/.exec(name);
    if (!match) continue;
    const pid = parseInt(match[1]!, 36);
    if (pid === process.pid || processExists(pid)) continue;
    await ip('netns', 'del', name).catch(() => undefined);
  }
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function ip(...args: string[]): Promise<void> {
  try {
    await run('ip', args);
  } catch (err) {
    throw new Error(`ip ${args.join(' ')} failed: ${(err as { stderr?: string }).stderr?.trim() ?? ''}`, {
      cause: err,
    });
  }
}

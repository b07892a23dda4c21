// Two network namespaces joined by a veth pair with IPv6 link-local addresses only (fe80::a on `va` in
// the daemon's namespace, fe80::b on `vb` in the peer's): the test's own link, never a host interface.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export interface LinkLocalNet {
  /** Where the daemon runs. */
  daemonNs: string;
  /** Where the peer runs. */
  peerNs: string;
  /** The daemon side's interface index, inside its namespace. */
  daemonIfIndex: number;
  /** Runs `node -e CODE` inside the peer namespace. */
  peer(code: string): ChildProcess;
  teardown(): void;
}

function ip(args: string[]): string {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')} failed: ${r.stderr || r.error?.message}`);
  return r.stdout;
}

function waitOperUp(ns: string, dev: string): void {
  const deadline = Date.now() + 5000;
  while (!/ state UP /.test(ip(['-n', ns, '-o', 'link', 'show', dev]))) {
    if (Date.now() > deadline) throw new Error(`${dev} in ${ns} did not come up within 5 s`);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
  }
}

export function makeLinkLocalNet(): LinkLocalNet {
  const tag = randomBytes(3).toString('hex');
  const daemonNs = `lsk-adv-d-${tag}`;
  const peerNs = `lsk-adv-p-${tag}`;
  const made: string[] = [];
  const teardown = (): void => {
    for (const ns of made) spawnSync('ip', ['netns', 'delete', ns]);
  };
  try {
    for (const ns of [daemonNs, peerNs]) {
      ip(['netns', 'add', ns]);
      made.push(ns);
      ip(['-n', ns, 'link', 'set', 'lo', 'up']);
    }
    ip(['link', 'add', 'va', 'netns', daemonNs, 'type', 'veth', 'peer', 'name', 'vb', 'netns', peerNs]);
    // Only the fixed addresses: no address derived from the MAC, so that the source address is known.
    ip(['-n', daemonNs, 'link', 'set', 'va', 'addrgenmode', 'none']);
    ip(['-n', peerNs, 'link', 'set', 'vb', 'addrgenmode', 'none']);
    ip(['-n', daemonNs, 'addr', 'add', 'fe80::a/64', 'dev', 'va', 'nodad']);
    ip(['-n', peerNs, 'addr', 'add', 'fe80::b/64', 'dev', 'vb', 'nodad']);
    ip(['-n', daemonNs, 'link', 'set', 'va', 'up']);
    ip(['-n', peerNs, 'link', 'set', 'vb', 'up']);
    // The kernel reports the carrier (operstate UP) up to a second after `link set up` (linkwatch); before
    // that a datagram to ff02::1 or a SYN may be dropped, so the tests would race it.
    waitOperUp(daemonNs, 'va');
    waitOperUp(peerNs, 'vb');
    const daemonIfIndex = Number(/^(\d+):/.exec(ip(['-n', daemonNs, '-o', 'link', 'show', 'va']))?.[1]);
    return {
      daemonNs, peerNs, daemonIfIndex, teardown,
      peer: (code) => spawn('ip', ['netns', 'exec', peerNs, process.execPath, '-e', code], { stdio: ['ignore', 'pipe', 'pipe'] }),
    };
  } catch (e) {
    teardown();
    throw e;
  }
}

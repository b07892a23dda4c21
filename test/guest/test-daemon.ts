// A real linsockd (startDaemon, in this process) on a private guest socket, with a policy that lets
// guests reach the host's loopback, where the tests' servers listen.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemon, type RunningDaemon, type PolicyConfig, type Limits } from '../../daemon';

export interface TestDaemon {
  guestPath: string;
  daemon: RunningDaemon;
  close(): Promise<void>;
}

/** Loopback reachable at any port; the guest's own servers only at unprivileged ones (a test checks 80 fails). */
export const LOOPBACK_POLICY: PolicyConfig = {
  rules: [
    { action: 'allow', ops: ['connect', 'sendto'], cidr: ['127.0.0.1', '::1'] },
    { action: 'allow', ops: ['bind', 'listen'], cidr: ['127.0.0.1', '::1'], ports: 0 },
    { action: 'allow', ops: ['bind', 'listen'], cidr: ['127.0.0.1', '::1'], ports: '1024-65535' },
  ],
};

export async function startTestDaemon(limits?: Partial<Limits>): Promise<TestDaemon> {
  const dir = mkdtempSync(join(tmpdir(), 'linsock-guest-test-'));
  const daemon = await startDaemon({ guestSocket: join(dir, 'guest.sock'), policy: LOOPBACK_POLICY, limits });
  return {
    guestPath: daemon.guestPath as string,
    daemon,
    close: async () => {
      await daemon.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

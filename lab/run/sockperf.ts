// sockperf (Debian's) for `linsock bench --program sockperf`: a host `sockperf server --tcp` on 127.0.0.1 (and,
// for the emulated path, one on the host's address on the guest's TAP), and per path `sockperf ping-pong --tcp --full-rtt` of
// 64-byte messages through `linsock run`. The figures are sockperf's own: its round-trip percentiles over
// the valid duration (warm-up excluded), and its own count of messages sent, received, dropped, duplicated
// and out of order.
import { spawn } from 'node:child_process';
import { connect } from 'node:net';

export const SOCKPERF_MESSAGE_BYTES = 64;

export interface SockperfResult {
  p50Us: number;
  p99Us: number;
  seconds: number;
  sent: number;
  received: number;
  /** Dropped + duplicated + out of order, as sockperf counted them. */
  lost: number;
}

function number(text: string, re: RegExp, what: string): number {
  const m = re.exec(text);
  const v = m ? Number(m[1]) : NaN;
  if (!Number.isFinite(v)) throw new Error(`sockperf printed no ${what}: ${text.trim().split('\n').slice(-3).join(' | ') || '(nothing)'}`);
  return v;
}

/** Reads ping-pong's report (stdout); throws naming what is missing (sockperf's own error when it gave one). */
export function parseSockperf(text: string): SockperfResult {
  const err = /ERROR: (.*)/.exec(text);
  if (err) throw new Error(`sockperf: ${err[1]}`);
  const valid = /\[Valid Duration\] RunTime=([\d.]+) sec; SentMessages=(\d+); ReceivedMessages=(\d+)/.exec(text);
  if (!valid) throw new Error(`sockperf printed no valid-duration line: ${text.trim().split('\n').slice(-3).join(' | ') || '(nothing)'}`);
  const lost = /# dropped messages = (\d+); # duplicated messages = (\d+); # out-of-order messages = (\d+)/.exec(text);
  return {
    p50Us: number(text, /percentile 50\.000 =\s*([\d.]+)/, '50th percentile'),
    p99Us: number(text, /percentile 99\.000 =\s*([\d.]+)/, '99th percentile'),
    seconds: Number(valid[1]),
    sent: Number(valid[2]),
    received: Number(valid[3]),
    lost: lost ? Number(lost[1]) + Number(lost[2]) + Number(lost[3]) : NaN,
  };
}

/** The ping-pong client's command line, through sh so that the emulated guest finds the host's address. */
export function sockperfClientArgs(port: number, seconds: number): string[] {
  return ['-c', `exec sockperf ping-pong -i "\${LINSOCK_HOST_ADDRESS:-127.0.0.1}" -p ${port} --tcp -t ${seconds} -m ${SOCKPERF_MESSAGE_BYTES} --full-rtt`];
}

/** A host `sockperf server --tcp` on `address`:`port` (127.0.0.1, or an emulated guest's TAP address), ready once it accepts. */
export async function startSockperfServer(port: number, address = '127.0.0.1'): Promise<{ stop: () => void }> {
  const child = spawn('sockperf', ['server', '-i', address, '-p', String(port), '--tcp'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const stop = (): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill();
  };
  const failed = new Promise<never>((_, reject) => {
    child.once('error', (e) => reject(new Error(`sockperf server: ${e.message} (install it: apt-get install -y sockperf)`)));
    child.once('exit', (code) => reject(new Error(`sockperf server exited with ${code}: ${stderr.trim()}`)));
  });
  const deadline = Date.now() + 5000;
  const ready = (async () => {
    for (;;) {
      const ok = await new Promise<boolean>((resolve) => {
        const s = connect(port, address, () => {
          s.destroy();
          resolve(true);
        });
        s.once('error', () => resolve(false));
      });
      if (ok) return;
      if (Date.now() > deadline) throw new Error(`sockperf server did not listen on port ${port} within 5 s`);
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  try {
    await Promise.race([ready, failed]);
  } catch (e) {
    stop();
    throw e;
  }
  failed.catch(() => undefined);
  return { stop };
}

// The soak's trace subscribers: one that reads everything and counts calls and dropped records, and one
// that subscribes and then never reads (a stalled viewer). The daemon must bound what it holds for the
// stalled one (drop it or its records), and whenever it lets go, the stalled one comes back and stalls again.

import WebSocket from 'ws';
import { TRACE_STREAM_VERSION, visitChunk } from '../../protocol';

function subscribe(url: string, token: string, client: string): WebSocket {
  const ws = new WebSocket(url, { headers: { Authorization: `Bearer ${token}` }, maxPayload: 64 * 1024 * 1024 });
  ws.on('open', () => {
    ws.send(JSON.stringify({ op: 'hello', id: 1, protocol: TRACE_STREAM_VERSION, client }));
    ws.send(JSON.stringify({ op: 'subscribe', id: 2, filter: {}, history: false }));
  });
  ws.on('error', () => undefined);
  return ws;
}

export class CountingSubscriber {
  calls = 0;
  dropped = 0;
  damaged = 0;
  private readonly ws: WebSocket;

  constructor(url: string, token: string) {
    this.ws = subscribe(url, token, 'soak counter');
    this.ws.on('message', (data, isBinary) => {
      if (!isBinary) return;
      const err = visitChunk(new Uint8Array(data as Buffer), { call: () => void this.calls++, dropped: (d) => void (this.dropped += d.count) });
      if (err) this.damaged++;
    });
  }

  close(): Promise<void> {
    return closeSocket(this.ws);
  }
}

export class StalledSubscriber {
  /** Times the daemon let go of it (it reconnected each time). */
  cutOff = 0;
  private ws: WebSocket | null = null;
  private stopped = false;

  constructor(private readonly url: string, private readonly token: string) {
    this.open();
  }

  private open(): void {
    const ws = subscribe(this.url, this.token, 'soak stalled viewer');
    this.ws = ws;
    // Read the subscription reply, then stop reading for good: the kernel buffers fill, then the daemon's.
    ws.once('message', () => ws.pause());
    ws.once('close', () => {
      if (this.stopped) return;
      this.cutOff++;
      setTimeout(() => !this.stopped && this.open(), 500);
    });
  }

  close(): Promise<void> {
    this.stopped = true;
    return this.ws ? closeSocket(this.ws) : Promise.resolve();
  }
}

function closeSocket(ws: WebSocket): Promise<void> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.resolve();
  return new Promise((resolve) => {
    ws.once('close', () => resolve());
    ws.terminate();
  });
}

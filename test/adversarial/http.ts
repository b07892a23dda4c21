// Small clients for the trace port: an authenticated GET /metrics and a WebSocket that shows the token,
// each timed, for "a real client gets in within 1 s".
import { request } from 'node:http';
import WebSocket from 'ws';

export function getMetrics(port: number, token: string, timeoutMs = 3000): Promise<{ status: number; body: string; ms: number }> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/metrics', headers: { authorization: `Bearer ${token}` }, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, ms: Date.now() - t0 }));
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no /metrics answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/** Opens /trace with the token in the header and waits for the hello answer; resolves with the time it took. */
export function traceClient(port: number, token: string, timeoutMs = 3000): Promise<{ ms: number; ws: WebSocket }> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/trace`, { headers: { authorization: `Bearer ${token}` } });
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`no trace hello within ${timeoutMs} ms`));
    }, timeoutMs);
    ws.on('open', () => ws.send(JSON.stringify({ op: 'hello', id: 1, protocol: 1, client: 'adversarial' })));
    ws.on('message', (d) => {
      const m = JSON.parse(String(d)) as { type?: string };
      if (m.type !== 'hello') return;
      clearTimeout(timer);
      resolve({ ms: Date.now() - t0, ws });
    });
    ws.on('unexpected-response', (_req, res) => {
      clearTimeout(timer);
      reject(Object.assign(new Error(`trace upgrade refused: ${res.statusCode}`), { status: res.statusCode }));
    });
    ws.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

// `linsock record --seconds S -o FILE [--url ws://127.0.0.1:7717/trace] [--token-file PATH]`: subscribes to a
// running linsockd's trace stream (live records only) and writes them as they come, in the format that the
// file's suffix names in the registry (.lstrace unless another one matches): the stream's binary messages
// are .lstrace chunks already, so each is checked and, for .lstrace, appended unchanged.

import { createWriteStream, readFileSync, type WriteStream } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import {
  DEFAULT_TRACE_PORT, TRACE_PATH, TRACE_STREAM_VERSION, decodeChunk, traceFormat, traceFormatOfName, visitChunk, type ServerMessage,
  type TraceFormat, type TracePiece, type TraceWriter,
} from '../../protocol';
import { parseOptions, usageError } from './options';

export const RECORD_USAGE = `usage: linsock record --seconds S -o FILE(.lstrace|.linsock.json|.csv) [--url ws://127.0.0.1:${DEFAULT_TRACE_PORT}${TRACE_PATH}] [--token-file PATH]`;

/** The daemon's default token file (daemon/token.ts decides it; the lab may not import that module). */
function defaultTokenFile(): string {
  if (process.env.XDG_RUNTIME_DIR) return join(process.env.XDG_RUNTIME_DIR, 'linsock', 'token');
  if (process.getuid?.() === 0) return '/run/linsock/token';
  return join(homedir(), '.linsock', 'token');
}

interface Tally {
  records: number;
  calls: number;
  frames: number;
  dropped: number;
  bytes: number;
}

export async function recordCommand(argv: string[]): Promise<number> {
  const parsed = parseOptions('record', RECORD_USAGE, argv, {
    options: {
      seconds: { type: 'string' },
      output: { type: 'string', short: 'o' },
      url: { type: 'string', default: `ws://127.0.0.1:${DEFAULT_TRACE_PORT}${TRACE_PATH}` },
      'token-file': { type: 'string' },
    },
  });
  if (!parsed) return 2;
  const { values } = parsed;
  const seconds = Number(values.seconds);
  const out = values.output as string | undefined;
  if (!(seconds > 0 && seconds <= 86_400) || !out) {
    usageError('record', RECORD_USAGE, [!out ? '-o FILE is required' : `--seconds must be a number in (0, 86400], got '${String(values.seconds)}'`]);
    return 2;
  }
  const tokenFile = (values['token-file'] as string | undefined) ?? defaultTokenFile();
  let token: string;
  try {
    token = readFileSync(tokenFile, 'utf8').trim();
  } catch (err) {
    console.error(`linsock record: cannot read the trace token from ${tokenFile} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); pass --token-file with the path linsockd printed in its ready line`);
    return 2;
  }
  try {
    const tally = await record(String(values.url), token, seconds, out);
    console.log(`recorded ${tally.records} records (${tally.calls} calls, ${tally.frames} frames, ${tally.bytes} bytes) to ${out} in ${seconds} s; dropped ${tally.dropped}`);
    return 0;
  } catch (err) {
    console.error(`linsock record: ${(err as Error).message}`);
    return 1;
  }
}

/** The bytes of one stream chunk in the output's format: the chunk itself where the format allows. */
function chunkPiece(w: TraceWriter, chunk: Uint8Array): TracePiece {
  return w.writeLstraceChunk ? w.writeLstraceChunk(chunk) : w.write(decodeChunk(chunk).records);
}

function record(url: string, token: string, seconds: number, out: string): Promise<Tally> {
  const tally: Tally = { records: 0, calls: 0, frames: 0, dropped: 0, bytes: 0 };
  const writer = (traceFormatOfName(out) ?? (traceFormat('lstrace') as TraceFormat)).writer();
  const file: WriteStream = createWriteStream(out);
  file.write(writer.begin());
  const ws = new WebSocket(url, { headers: { Authorization: `Bearer ${token}` }, maxPayload: 64 * 1024 * 1024 });
  return new Promise<Tally>((resolve, reject) => {
    let failure: Error | null = null;
    let timer: NodeJS.Timeout | null = null;
    const finish = (): void => {
      if (timer) clearTimeout(timer);
      const last = writer.end();
      if (last.length) file.write(last);
      file.end(() => (failure ? reject(failure) : resolve(tally)));
    };
    ws.on('unexpected-response', (_req, res) => {
      failure = new Error(res.statusCode === 401 ? `${url} refused the token (HTTP 401): is --token-file the one linsockd printed?` : `${url} answered HTTP ${res.statusCode}`);
      ws.terminate();
    });
    ws.on('error', (err: NodeJS.ErrnoException) => {
      failure ??= err.code === 'ECONNREFUSED' ? new Error(`no linsockd at ${url} (connection refused); start it with \`npx linsockd\``) : err;
    });
    ws.on('open', () => {
      ws.send(JSON.stringify({ op: 'hello', id: 1, protocol: TRACE_STREAM_VERSION, client: 'linsock record' }));
      ws.send(JSON.stringify({ op: 'subscribe', id: 2, filter: {}, history: false }));
      timer = setTimeout(() => ws.close(1000, 'recording done'), seconds * 1000);
    });
    ws.on('message', (data, isBinary) => {
      if (!isBinary) {
        const m = JSON.parse(String(data)) as ServerMessage;
        if (m.type === 'error') {
          failure = new Error(`linsockd: ${m.message}`);
          ws.close();
        }
        return;
      }
      const chunk = new Uint8Array(data as Buffer);
      const error = visitChunk(chunk, {
        call: () => void tally.calls++,
        frame: () => void tally.frames++,
        dropped: (d) => void (tally.dropped += d.count),
      });
      if (error) {
        failure = new Error(`the daemon sent a damaged chunk (${error.message}); stopped recording, ${tally.records} records kept`);
        ws.close();
        return;
      }
      tally.records += chunk.length > 0 ? countRecords(chunk) : 0;
      tally.bytes += chunk.length;
      // A slow disk must not make this process buffer without bound: stop reading until it drains.
      const piece = chunkPiece(writer, chunk);
      if (piece.length && !file.write(piece)) {
        ws.pause();
        file.once('drain', () => ws.resume());
      }
    });
    ws.on('close', (code) => {
      if (!failure && timer && code !== 1000 && code !== 1005) failure = new Error(`linsockd closed the trace stream early (code ${code}); ${tally.records} records kept`);
      finish();
    });
  });
}

/** The record count in a chunk's header (magic u32 | body length u32 | record count u32, big-endian). */
function countRecords(chunk: Uint8Array): number {
  return new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength).getUint32(8);
}

// `linsock record -o FILE [--seconds S] [--until-idle S] [--max-calls N] [--url ws://127.0.0.1:7717/trace]
// [--token-file PATH]`: subscribes to a running linsockd's trace stream (live records only) and writes them as
// they come, in the format that the file's suffix names in the registry (.lstrace unless another one
// matches): the stream's binary messages are .lstrace chunks already, so each is checked and, for .lstrace,
// appended unchanged. It says "recording" once the daemon confirmed the subscription (records from then on
// are in the file), shows calls, bytes and drops per second while it records, and stops after S seconds,
// after S idle seconds (none counted before the first record), after N calls, or on Ctrl-C — whichever
// comes first. A file it cannot write (missing directory, full disk, /dev/full) is one line and exit 1; the
// file then ends at the last whole chunk, or is removed when its format cannot end there.

import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import {
  DEFAULT_TRACE_PORT, TRACE_PATH, TRACE_STREAM_VERSION, decodeChunk, traceFormat, traceFormatOfName, visitChunk, type ServerMessage,
  type TraceFormat, type TracePiece, type TraceRecord, type TraceWriter,
} from '../../protocol';
import { parseOptions, usageError } from './options';
import { emptyTally, RecordProgress, type Tally } from './record-progress';
import { TraceOutput } from './trace-output';

export const RECORD_USAGE = `usage: linsock record -o FILE(.lstrace|.linsock.json|.csv) [--seconds S] [--until-idle S] [--max-calls N] [--url ws://127.0.0.1:${DEFAULT_TRACE_PORT}${TRACE_PATH}] [--token-file PATH]`;

/** The daemon's default token file (daemon/token.ts decides it; the lab may not import that module). */
function defaultTokenFile(): string {
  if (process.env.XDG_RUNTIME_DIR) return join(process.env.XDG_RUNTIME_DIR, 'linsock', 'token');
  if (process.getuid?.() === 0) return '/run/linsock/token';
  return join(homedir(), '.linsock', 'token');
}

export interface RecordStops {
  seconds?: number;
  untilIdle?: number;
  maxCalls?: number;
}

export type { Tally };

/** A positive number option, or the problem with it. */
function positive(name: string, text: unknown, max: number, integer = false): number | string | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!(n > 0 && n <= max) || (integer && !Number.isInteger(n))) return `--${name} must be ${integer ? 'an integer' : 'a number'} in (0, ${max}], got '${String(text)}'`;
  return n;
}

export async function recordCommand(argv: string[]): Promise<number> {
  const parsed = parseOptions('record', RECORD_USAGE, argv, {
    options: {
      seconds: { type: 'string' },
      'until-idle': { type: 'string' },
      'max-calls': { type: 'string' },
      output: { type: 'string', short: 'o' },
      url: { type: 'string', default: `ws://127.0.0.1:${DEFAULT_TRACE_PORT}${TRACE_PATH}` },
      'token-file': { type: 'string' },
    },
  });
  if (!parsed) return 2;
  const { values } = parsed;
  const out = values.output as string | undefined;
  const stops = {
    seconds: positive('seconds', values.seconds, 86_400),
    untilIdle: positive('until-idle', values['until-idle'], 86_400),
    maxCalls: positive('max-calls', values['max-calls'], Number.MAX_SAFE_INTEGER, true),
  };
  const problems = Object.values(stops).filter((v): v is string => typeof v === 'string');
  if (!out) problems.unshift('-o FILE is required');
  if (problems.length) {
    usageError('record', RECORD_USAGE, problems);
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
  let output: TraceOutput;
  try {
    output = TraceOutput.open(out as string);
  } catch (err) {
    console.error(`linsock record: ${(err as Error).message}`);
    return 1;
  }
  const r = await record(String(values.url), token, stops as RecordStops, output);
  if (r.error) {
    console.error(`linsock record: ${r.error}`);
    return 1;
  }
  const t = r.tally;
  console.log(`recorded ${t.records} records (${t.calls} calls, ${t.frames} frames, ${t.bytes} bytes) to ${out} in ${r.seconds.toFixed(1)} s; dropped ${t.dropped}; stopped: ${r.stoppedBy}`);
  return 0;
}

/** The bytes of one stream chunk in the output's format: the chunk itself where the format allows. */
function chunkPiece(w: TraceWriter, chunk: Uint8Array): TracePiece {
  return w.writeLstraceChunk ? w.writeLstraceChunk(chunk) : w.write(decodeChunk(chunk).records);
}

/** The records of `chunk` up to and including its `n`-th call. */
function firstCalls(chunk: Uint8Array, n: number): TraceRecord[] {
  const records = decodeChunk(chunk).records;
  let calls = 0;
  for (let i = 0; i < records.length; i++) if ((records[i] as TraceRecord).kind === 'call' && ++calls === n) return records.slice(0, i + 1);
  return records;
}

export interface RecordResult {
  tally: Tally;
  /** Seconds from the subscription to the stop. */
  seconds: number;
  stoppedBy: string;
  /** One line saying why the recording failed and what is left of the file, or null. */
  error: string | null;
}

export function record(url: string, token: string, stops: RecordStops, output: TraceOutput): Promise<RecordResult> {
  const tally = emptyTally();
  const progress = new RecordProgress(tally);
  const writer = (traceFormatOfName(output.path) ?? (traceFormat('lstrace') as TraceFormat)).writer();
  output.write(writer.begin());
  const ws = new WebSocket(url, { headers: { Authorization: `Bearer ${token}` }, maxPayload: 64 * 1024 * 1024 });
  return new Promise<RecordResult>((resolve) => {
    let failure: string | null = null;
    let subscribedAt = 0;
    let stoppedBy = '';
    const timers: NodeJS.Timeout[] = [];
    let idle: NodeJS.Timeout | null = null;
    const stop = (why: string): void => {
      if (stoppedBy) return;
      stoppedBy = why;
      ws.close(1000, 'recording done');
    };
    const onSignal = (): void => stop('interrupted');
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    output.onFailure(() => {
      failure ??= `${(output.failure as Error).message}; stopped recording`;
      stop('write failed');
      ws.terminate();
    });

    const finish = async (): Promise<void> => {
      for (const t of timers) clearTimeout(t);
      if (idle) clearTimeout(idle);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      progress.stop();
      const seconds = subscribedAt ? (performance.now() - subscribedAt) / 1000 : 0;
      const last = writer.end();
      if (!output.failure) output.write(last);
      // Nothing was recorded when the daemon never confirmed the subscription: leave no file behind.
      const fate = await output.close(last.length === 0, subscribedAt === 0);
      if (output.failure && subscribedAt !== 0) {
        failure ??= `${output.failure.message}; stopped recording`;
        const kept = output.committedRecords;
        failure += fate === 'cut' ? `; ${output.path} ends at the last whole chunk (${kept} of ${tally.records} records kept)`
          : fate === 'removed' ? `; removed ${output.path}: this format cannot end mid-way`
            : `; ${output.path} holds what was written before`;
      }
      resolve({ tally, seconds, stoppedBy: stoppedBy || 'closed', error: failure });
    };

    ws.on('unexpected-response', (_req, res) => {
      failure = res.statusCode === 401 ? `${url} refused the token (HTTP 401): is --token-file the one linsockd printed?` : `${url} answered HTTP ${res.statusCode}`;
      ws.terminate();
    });
    ws.on('error', (err: NodeJS.ErrnoException) => {
      failure ??= err.code === 'ECONNREFUSED' ? `no linsockd at ${url} (connection refused); start it with \`npx linsockd\`` : err.message;
    });
    ws.on('open', () => {
      ws.send(JSON.stringify({ op: 'hello', id: 1, protocol: TRACE_STREAM_VERSION, client: 'linsock record' }));
      ws.send(JSON.stringify({ op: 'subscribe', id: 2, filter: {}, history: false }));
    });
    const subscribed = (): void => {
      subscribedAt = performance.now();
      const until = [
        stops.seconds !== undefined ? `${stops.seconds} s` : '',
        stops.untilIdle !== undefined ? `${stops.untilIdle} s idle` : '',
        stops.maxCalls !== undefined ? `${stops.maxCalls} calls` : '',
      ].filter(Boolean);
      console.log(`recording ${url} to ${output.path} until ${[...until, 'Ctrl-C'].join(' or ')}`);
      if (stops.seconds !== undefined) timers.push(setTimeout(() => stop(`${stops.seconds} s elapsed`), stops.seconds * 1000));
      progress.start();
    };
    const onChunk = (chunk: Uint8Array): void => {
      let calls = 0;
      let callBytes = 0;
      let frames = 0;
      let dropped = 0;
      const error = visitChunk(chunk, {
        call: (c) => {
          calls++;
          callBytes += c.bytes;
        },
        frame: () => void frames++,
        dropped: (d) => void (dropped += d.count),
      });
      if (error) {
        failure = `the daemon sent a damaged chunk (${error.message}); stopped recording, ${tally.records} records kept`;
        stop('damaged chunk');
        return;
      }
      let piece: TracePiece;
      let records = countRecords(chunk);
      const room = stops.maxCalls !== undefined ? stops.maxCalls - tally.calls : Infinity;
      if (calls > room) {
        // The last chunk is cut at the N-th call, so that the file holds exactly N calls.
        const head = firstCalls(chunk, room);
        piece = writer.write(head);
        records = head.length;
        calls = room;
        callBytes = frames = dropped = 0;
        for (const r of head) {
          if (r.kind === 'call') callBytes += r.bytes;
          else if (r.kind === 'frame') frames++;
          else if (r.kind === 'dropped') dropped += r.count;
        }
      } else piece = chunkPiece(writer, chunk);
      tally.records += records;
      tally.calls += calls;
      tally.callBytes += callBytes;
      tally.frames += frames;
      tally.dropped += dropped;
      tally.bytes += piece.length;
      // A slow disk must not make this process buffer without bound: stop reading until it drains.
      if (!output.write(piece, records)) {
        ws.pause();
        output.whenDrained(() => ws.resume());
      }
      if (tally.calls === stops.maxCalls) stop(`${stops.maxCalls} calls`);
      if (stops.untilIdle !== undefined && calls + frames > 0) {
        if (idle) idle.refresh();
        else idle = setTimeout(() => stop(`${stops.untilIdle} s idle`), stops.untilIdle * 1000);
      }
    };
    ws.on('message', (data, isBinary) => {
      if (stoppedBy) return; // what comes after the stop is not part of the recording
      if (isBinary) {
        if (subscribedAt) onChunk(new Uint8Array(data as Buffer));
        return;
      }
      const m = JSON.parse(String(data)) as ServerMessage;
      if (m.type === 'subscribed' && !subscribedAt) subscribed();
      else if (m.type === 'error') {
        failure = `linsockd: ${m.message}`;
        stop('daemon error');
      }
    });
    ws.on('close', (code) => {
      if (!failure && !stoppedBy && code !== 1000 && code !== 1005) failure = `linsockd closed the trace stream early (code ${code}); ${tally.records} records kept`;
      else if (!failure && !subscribedAt) failure = `linsockd closed the trace stream before the subscription was confirmed (code ${code})`;
      void finish();
    });
  });
}

/** The record count in a chunk's header (magic u32 | body length u32 | record count u32, big-endian). */
function countRecords(chunk: Uint8Array): number {
  return chunk.length >= 12 ? new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength).getUint32(8) : 0;
}

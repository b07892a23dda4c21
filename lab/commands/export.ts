// `linsock export IN --format chrome|csv|lstrace -o OUT`: converts a trace file, streaming: an .lstrace input
// is read in pieces with LstraceReader and each batch of records is converted and written before the next
// is read. A damaged input still yields every whole record before the damage, a complete output file, and
// a message naming the offset; the exit code is then 1. A Linsock Chrome JSON export is accepted as input
// too (read whole: it is the viewer's interchange format, not the bulk one).

import { createReadStream, createWriteStream, existsSync, openSync, readSync, closeSync, readFileSync, realpathSync, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { LstraceReader, encodeChunk, encodeFileHeader, isLstrace, type TraceRecord } from '../../protocol';
import { ChromeTraceWriter } from '../../protocol/chrome-trace';
import { readChromeTrace } from '../../protocol/chrome-trace-reader';
import { csvHeader, csvRows } from '../../protocol/csv';
import { parseOptions, usageError } from './options';

export const EXPORT_USAGE = 'usage: linsock export IN(.lstrace|.json) --format chrome|csv|lstrace -o OUT';
const FORMATS = ['chrome', 'csv', 'lstrace'] as const;
type Format = (typeof FORMATS)[number];

/** One output format as three steps; text or bytes, written in order. */
interface OutputFormat {
  begin(): string | Uint8Array;
  write(records: TraceRecord[]): string | Uint8Array;
  end(): string | Uint8Array;
}

function outputFormat(format: Format): OutputFormat {
  switch (format) {
    case 'chrome': {
      const w = new ChromeTraceWriter();
      return { begin: () => w.begin(), write: (r) => w.write(r), end: () => w.end() };
    }
    case 'csv':
      return { begin: csvHeader, write: csvRows, end: () => '' };
    case 'lstrace':
      return { begin: encodeFileHeader, write: (r) => (r.length ? encodeChunk(r) : new Uint8Array(0)), end: () => new Uint8Array(0) };
  }
}

async function put(out: WriteStream, data: string | Uint8Array): Promise<void> {
  if (data.length === 0) return;
  if (!out.write(data)) await once(out, 'drain');
}

export async function exportCommand(argv: string[]): Promise<number> {
  const parsed = parseOptions('export', EXPORT_USAGE, argv, {
    options: { format: { type: 'string' }, output: { type: 'string', short: 'o' } },
    allowPositionals: true,
  });
  if (!parsed) return 2;
  const { values, positionals } = parsed;
  const input = positionals[0];
  const format = values.format as Format | undefined;
  const output = values.output as string | undefined;
  const problems: string[] = [];
  if (!input || positionals.length > 1) problems.push('exactly one input file is required');
  if (!format || !FORMATS.includes(format)) problems.push(`--format must be one of ${FORMATS.join(', ')}, got '${String(format)}'`);
  if (!output) problems.push('-o OUT is required');
  if (problems.length) {
    usageError('export', EXPORT_USAGE, problems);
    return 2;
  }
  try {
    const r = await exportFile(input as string, format as Format, output as string);
    if (r.damage) {
      console.error(`linsock export: ${input} is damaged: ${r.damage}; wrote the ${r.records} whole records before the damage to ${output}`);
      return 1;
    }
    console.log(`exported ${r.records} records from ${input} to ${output} (${format})`);
    return 0;
  } catch (err) {
    console.error(`linsock export: ${(err as Error).message}`);
    return 1;
  }
}

export interface ExportResult {
  records: number;
  /** What is wrong with the input (the message names the offset), or null. */
  damage: string | null;
}

/** Converts `input` into `output`; throws only when the input cannot be read at all or the output written. */
export async function exportFile(input: string, format: Format, output: string): Promise<ExportResult> {
  if (existsSync(output) && realpathSync(output) === realpathSync(input)) throw new Error(`-o ${output} is the input file; write the export elsewhere`);
  const head = Buffer.alloc(16);
  let fd: number;
  try {
    fd = openSync(input, 'r');
  } catch (err) {
    throw new Error(`cannot read ${input} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); expected an .lstrace file or a Linsock Chrome JSON export`);
  }
  const got = readSync(fd, head, 0, head.length, 0);
  closeSync(fd);
  const fmt = outputFormat(format);
  const out = createWriteStream(output);
  const closed = once(out, 'close');
  let records = 0;
  let damage: string | null = null;
  try {
    await put(out, fmt.begin());
    const first = head.subarray(0, got).toString('latin1').trimStart()[0];
    if (!isLstrace(head.subarray(0, got)) && (first === '{' || first === '[')) {
      const all = readChromeTrace(readFileSync(input, 'utf8'));
      for (let i = 0; i < all.length; i += 4096) await put(out, fmt.write(all.slice(i, i + 4096)));
      records = all.length;
    } else {
      const reader = new LstraceReader();
      for await (const piece of createReadStream(input, { highWaterMark: 1 << 20 })) {
        const { records: batch, error } = reader.push(new Uint8Array(piece as Buffer));
        records += batch.length;
        await put(out, fmt.write(batch));
        if (error) {
          damage = error.message;
          break;
        }
      }
      if (!damage) {
        const last = reader.finish();
        records += last.records.length;
        await put(out, fmt.write(last.records));
        if (last.error) damage = last.error.message;
      }
    }
    await put(out, fmt.end());
  } finally {
    out.end();
    await closed;
  }
  return { records, damage };
}

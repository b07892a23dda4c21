// `linsock export IN --format chrome|csv|lstrace -o OUT`: converts a trace file, streaming, through the
// format registry (protocol/trace-formats.ts): the input's format is told by its first bytes, its reader
// takes it in pieces and each batch of records is written by the output format's writer before the next
// piece is read. A damaged input still yields every whole record before the damage, a complete output
// file, and a message naming the offset; the exit code is then 1. What a reader skipped is said on stderr.
// An output that cannot be written (missing directory, full disk) is one line and exit 1, and leaves no
// invalid file: a partly written one is removed.

import { createReadStream, existsSync, realpathSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { SNIFF_BYTES, sniffTraceFile, traceFormat, TRACE_FORMATS, type TracePiece } from '../../protocol';
import { parseOptions, usageError } from './options';
import { TraceOutput } from './trace-output';

const WRITABLE = TRACE_FORMATS.map((f) => f.name);
const READABLE_SUFFIXES = TRACE_FORMATS.filter((f) => f.reader).map((f) => f.suffixes[0]).join('|');
export const EXPORT_USAGE = `usage: linsock export IN(${READABLE_SUFFIXES}) --format ${WRITABLE.join('|')} -o OUT`;

async function put(out: TraceOutput, data: TracePiece): Promise<void> {
  if (!out.write(data)) await new Promise<void>((resolve) => out.whenDrained(resolve));
  if (out.failure) throw out.failure;
}

export async function exportCommand(argv: string[]): Promise<number> {
  const parsed = parseOptions('export', EXPORT_USAGE, argv, {
    options: { format: { type: 'string' }, output: { type: 'string', short: 'o' } },
    allowPositionals: true,
  });
  if (!parsed) return 2;
  const { values, positionals } = parsed;
  const input = positionals[0];
  const format = values.format as string | undefined;
  const output = values.output as string | undefined;
  const problems: string[] = [];
  if (!input || positionals.length > 1) problems.push('exactly one input file is required');
  if (!format || !traceFormat(format)) problems.push(`--format must be one of ${WRITABLE.join(', ')}, got '${String(format)}'`);
  if (!output) problems.push('-o OUT is required');
  if (problems.length) {
    usageError('export', EXPORT_USAGE, problems);
    return 2;
  }
  try {
    const r = await exportFile(input as string, format as string, output as string);
    for (const note of [r.skipped, ...r.notes]) if (note) console.error(`linsock export: ${input}: ${note}`);
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
  /** What the reader passed over and why ("1000 events skipped: ..."), or null. */
  skipped: string | null;
  /** What a person should know about the input that is not damage. */
  notes: string[];
}

/**
 * Converts `input` (any readable format, told by its first bytes) into `output` in `format`, streaming;
 * throws only when the input cannot be read at all or the output written.
 */
export async function exportFile(input: string, format: string, output: string): Promise<ExportResult> {
  const to = traceFormat(format);
  if (!to) throw new Error(`unknown format '${format}': expected one of ${WRITABLE.join(', ')}`);
  if (existsSync(output) && realpathSync(output) === realpathSync(input)) throw new Error(`-o ${output} is the input file; write the export elsewhere`);
  let head: Uint8Array;
  let size: number;
  try {
    const fh = await open(input, 'r');
    try {
      size = (await fh.stat()).size;
      const buf = new Uint8Array(Math.min(size, SNIFF_BYTES));
      head = buf.subarray(0, (await fh.read(buf, 0, buf.length, 0)).bytesRead);
    } finally {
      await fh.close();
    }
  } catch (err) {
    throw new Error(`cannot read ${input} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  const sniffed = sniffTraceFile(head, size);
  if (!sniffed.format) throw new Error(`${input}: ${sniffed.problem}`);
  const reader = (sniffed.format.reader as NonNullable<typeof sniffed.format.reader>)();
  const writer = to.writer();
  const out = TraceOutput.open(output);
  let records = 0;
  let damage: string | null = null;
  try {
    await put(out, writer.begin());
    for await (const piece of createReadStream(input, { highWaterMark: 1 << 20 })) {
      const step = reader.push(new Uint8Array(piece as Buffer));
      records += step.records.length;
      await put(out, writer.write(step.records));
      if (step.error) {
        damage = step.error.message;
        break;
      }
    }
    if (!damage) {
      const last = reader.finish();
      records += last.records.length;
      await put(out, writer.write(last.records));
      if (last.error) damage = last.error.message;
    }
    await put(out, writer.end());
  } catch (err) {
    // A failed write, or a read that threw, leaves an output that is not whole: it goes.
    const fate = await out.close(false, true);
    throw new Error(`${(err as Error).message}${fate === 'removed' ? `; removed the partial ${output}` : ''}`);
  }
  const fate = await out.close(false);
  if (out.failure) throw new Error(`${out.failure.message}${fate === 'removed' ? `; removed the partial ${output}` : ''}`);
  return { records, damage, skipped: reader.skipped.summary(), notes: [...reader.notes] };
}

/**
 * A container's output log, in Docker's json-file format: one JSON object per line,
 * `{"log":"text\n","stream":"stdout","time":"2024-01-02T03:04:05.123456789Z"}`. Output is split
 * into lines as it arrives (a trailing partial line is written as its own record without "\n",
 * so a prompt is visible to `logs -f` at once); bytes are decoded as UTF-8 per stream, never
 * splitting a character.
 *
 * One writer per running container (the process that runs it); any number of readers, in any
 * process, read the file while it grows. With max-size the file is rotated (`<file>.1`, …);
 * `logFiles` lists them oldest first.
 */
import { createWriteStream, existsSync, renameSync, truncateSync, type WriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';
import { Writable } from 'node:stream';

export type LogStream = 'stdout' | 'stderr';

/** One record of the log. */
export interface LogRecord {
  log: string;
  stream: LogStream;
  time: string;
}

/**
 * Appends records to `file` (created if missing). `stream(name)` returns a Writable that logs
 * what is written to it; `close()` flushes partial characters and closes the file (idempotent).
 */
export class LogWriter {
  private out: WriteStream;
  private readonly decoders: Record<LogStream, StringDecoder> = { stdout: new StringDecoder('utf8'), stderr: new StringDecoder('utf8') };
  private closed = false;
  private size = 0;
  private readonly ended: Promise<void>[] = [];

  /**
   * `rotate`: json-file's max-size (bytes) and max-file: when the file reaches maxSize it
   * becomes `<file>.1` (older ones shift up to `<file>.<maxFiles-1>`, the oldest dropped).
   */
  constructor(
    readonly file: string,
    private readonly rotate?: { maxSize: number; maxFiles: number },
  ) {
    this.out = this.openFile();
  }

  private openFile(): WriteStream {
    const out = createWriteStream(this.file, { flags: 'a' });
    out.on('error', () => undefined); // a removed container dir must not crash the run
    return out;
  }

  private rotateNow(): void {
    const { maxFiles } = this.rotate!;
    const old = this.out;
    this.ended.push(new Promise<void>((resolve) => old.end(resolve)));
    try {
      if (maxFiles <= 1) truncateSync(this.file);
      else {
        for (let i = maxFiles - 1; i >= 1; i--) {
          const from = i === 1 ? this.file : `${this.file}.${i - 1}`;
          if (existsSync(from)) renameSync(from, `${this.file}.${i}`);
        }
      }
    } catch {
      // a removed container dir: keep writing nowhere
    }
    this.size = 0;
    this.out = this.openFile();
  }

  /** Logs `chunk` as output of `stream`. */
  write(stream: LogStream, chunk: Buffer | string): void {
    if (this.closed) return;
    const text = typeof chunk === 'string' ? chunk : this.decoders[stream].write(chunk);
    this.emit(stream, text);
  }

  private emit(stream: LogStream, text: string): void {
    if (text === '') return;
    const time = new Date().toISOString();
    let lines = '';
    let start = 0;
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', start)) {
      lines += JSON.stringify({ log: text.slice(start, i + 1), stream, time }) + '\n';
      start = i + 1;
    }
    if (start < text.length) lines += JSON.stringify({ log: text.slice(start), stream, time }) + '\n';
    if (this.rotate && this.size > 0 && this.size + Buffer.byteLength(lines) > this.rotate.maxSize) this.rotateNow();
    this.out.write(lines);
    this.size += Buffer.byteLength(lines);
  }

  /** A Writable (never ended by its users) that logs to `stream`. */
  stream(stream: LogStream): Writable {
    return new Writable({
      write: (chunk: Buffer, _enc, cb) => {
        this.write(stream, chunk);
        cb();
      },
    });
  }

  /** Flushes and closes the file. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    for (const s of ['stdout', 'stderr'] as const) this.emit(s, this.decoders[s].end());
    this.closed = true;
    await new Promise<void>((resolve) => this.out.end(resolve));
    await Promise.all(this.ended);
  }
}

/** At most this many bytes are read per call (callers loop). */
const MAX_READ = 4 << 20;

/**
 * Reads the records of `file` from byte `offset`; returns them and the offset after the last
 * complete line (a line still being written is left for the next call); at most 4 MiB per
 * call, so callers loop until the offset stops moving. A missing file is empty.
 */
export async function readLogRecords(file: string, offset = 0): Promise<{ records: LogRecord[]; offset: number }> {
  let h;
  try {
    h = await open(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { records: [], offset };
    throw err;
  }
  try {
    const { size } = await h.stat();
    if (size <= offset) return { records: [], offset };
    const buf = Buffer.alloc(Math.min(size - offset, MAX_READ));
    const { bytesRead } = await h.read(buf, 0, buf.length, offset);
    const end = buf.subarray(0, bytesRead).lastIndexOf(0x0a);
    // A line longer than MAX_READ cannot be a record we wrote: skip the whole window.
    if (end < 0) return { records: [], offset: bytesRead === MAX_READ ? offset + bytesRead : offset };
    const records: LogRecord[] = [];
    for (const line of buf.subarray(0, end).toString('utf8').split('\n')) {
      if (line === '') continue;
      try {
        records.push(JSON.parse(line) as LogRecord);
      } catch {
        // a torn line after a crash: skip it
      }
    }
    return { records, offset: offset + end + 1 };
  } finally {
    await h.close();
  }
}

/** The log's files, oldest first: the rotated ones (`<file>.N` … `<file>.1`) that exist, then `file`. */
export function logFiles(file: string, maxFiles = 1): string[] {
  const out: string[] = [];
  for (let i = maxFiles - 1; i >= 1; i--) if (existsSync(`${file}.${i}`)) out.push(`${file}.${i}`);
  out.push(file);
  return out;
}

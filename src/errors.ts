/**
 * The few error classes of mybuild. Every user-facing failure is a BuildError: it carries a
 * `code` (which the CLI maps to an exit code and the daemon to an HTTP status), an optional
 * `source` (file and range in it), a `hint` and a `cause`. Anything else that escapes is a bug
 * and is reported as an InternalError.
 *
 * `format()` prints the error as
 *
 *     Dockerfile:12:5: unknown instruction "RUNN"
 *      12 | RUNN echo hi
 *         | ^^^^
 *     hint: did you mean RUN?
 */
import type { Range } from './oci/range.js';

export type ErrorCode =
  | 'USAGE' // bad flags or command line
  | 'PARSE' // the Dockerfile does not parse
  | 'PLAN' // the Dockerfile parses but is invalid (bad args, unknown stage, expansion error)
  | 'CONTEXT' // build context problem (missing file, path escapes the context)
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'INVALID_ARGUMENT'
  | 'DIGEST_MISMATCH'
  | 'STEP_FAILED' // a RUN step exited non-zero
  | 'REGISTRY'
  | 'RUNTIME' // the OCI runtime could not run a container
  | 'IO' // disk full, permission denied on the store, …
  | 'CANCELED'
  | 'INTERNAL';

/** Exit codes, documented in the README. */
export const EXIT_CODES: Record<ErrorCode, number> = {
  USAGE: 2,
  PARSE: 3,
  PLAN: 3,
  CONTEXT: 1,
  NOT_FOUND: 1,
  ALREADY_EXISTS: 1,
  INVALID_ARGUMENT: 1,
  DIGEST_MISMATCH: 1,
  IO: 1,
  RUNTIME: 1,
  STEP_FAILED: 4,
  REGISTRY: 5,
  CANCELED: 130,
  INTERNAL: 70,
};

/** HTTP statuses the daemon answers with, per code. */
export const HTTP_STATUS: Record<ErrorCode, number> = {
  USAGE: 400,
  PARSE: 400,
  PLAN: 400,
  CONTEXT: 400,
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  INVALID_ARGUMENT: 400,
  DIGEST_MISMATCH: 500,
  IO: 500,
  RUNTIME: 500,
  STEP_FAILED: 500,
  REGISTRY: 502,
  CANCELED: 499,
  INTERNAL: 500,
};

/** Where in a source file an error is. `text` is the whole file, for the excerpt. */
export interface SourceLocation {
  file: string;
  range: Range;
  text?: string;
}

export interface BuildErrorOptions {
  source?: SourceLocation;
  hint?: string;
  cause?: unknown;
  /** Extra lines printed after the message (e.g. a failed step's last output lines). */
  details?: string[];
}

export class BuildError extends Error {
  readonly code: ErrorCode;
  readonly source?: SourceLocation;
  readonly hint?: string;
  readonly details?: string[];

  constructor(code: ErrorCode, message: string, opts: BuildErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = code;
    this.source = opts.source;
    this.hint = opts.hint;
    this.details = opts.details;
  }

  get exitCode(): number {
    return EXIT_CODES[this.code];
  }

  /** `file:line:col: message` (or just the message when there is no source). */
  get headline(): string {
    if (!this.source) return this.message;
    const { file, range } = this.source;
    return `${file}:${range.start.line}:${range.start.col}: ${this.message}`;
  }

  /** The full human-readable report: headline, excerpt with caret, details, hint. */
  format(): string {
    const out = [this.headline];
    if (this.source?.text !== undefined) out.push(...excerpt(this.source.text, this.source.range));
    if (this.details?.length) out.push(...this.details);
    if (this.hint) out.push(`hint: ${this.hint}`);
    return out.join('\n');
  }

  /** Plain object for JSON output (daemon, --progress=json). */
  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      message: this.message,
      ...(this.source ? { file: this.source.file, range: this.source.range } : {}),
      ...(this.hint ? { hint: this.hint } : {}),
    };
  }
}

export class ParseError extends BuildError {
  constructor(message: string, opts: BuildErrorOptions = {}) {
    super('PARSE', message, opts);
  }
}

/** The Dockerfile parses, but an instruction is invalid or cannot be planned. */
export class PlanError extends BuildError {
  constructor(message: string, opts: BuildErrorOptions = {}) {
    super('PLAN', message, opts);
  }
}

export class NotFoundError extends BuildError {
  constructor(message: string, opts: BuildErrorOptions = {}) {
    super('NOT_FOUND', message, opts);
  }
}

export class AlreadyExistsError extends BuildError {
  constructor(message: string, opts: BuildErrorOptions = {}) {
    super('ALREADY_EXISTS', message, opts);
  }
}

export class DigestMismatchError extends BuildError {
  constructor(message: string, opts: BuildErrorOptions = {}) {
    super('DIGEST_MISMATCH', message, opts);
  }
}

export class RegistryError extends BuildError {
  constructor(message: string, opts: BuildErrorOptions = {}) {
    super('REGISTRY', message, opts);
  }
}

export class UsageError extends BuildError {
  constructor(message: string, opts: BuildErrorOptions = {}) {
    super('USAGE', message, opts);
  }
}

/** A bug in mybuild: printed with "please report" and the stack. */
export class InternalError extends BuildError {
  constructor(message: string, opts: BuildErrorOptions = {}) {
    super('INTERNAL', message, opts);
  }
}

/** The kinds that have their own class; the others are plain BuildErrors. */
const KIND_CLASSES: Partial<Record<ErrorCode, new (message: string, opts?: BuildErrorOptions) => BuildError>> = {
  PARSE: ParseError,
  PLAN: PlanError,
  NOT_FOUND: NotFoundError,
  ALREADY_EXISTS: AlreadyExistsError,
  DIGEST_MISMATCH: DigestMismatchError,
  REGISTRY: RegistryError,
  USAGE: UsageError,
  INTERNAL: InternalError,
};

/**
 * A BuildError of kind `code` when the code is only known at run time (re-raising an error with
 * more context): the kind's class where it has one (`NotFoundError` for NOT_FOUND, …), else a
 * BuildError. Where the kind is known, write `new NotFoundError(…)`, never
 * `new BuildError('NOT_FOUND', …)`; test/errors.test.ts checks src/ for both.
 */
export function errorOfKind(code: ErrorCode, message: string, opts: BuildErrorOptions = {}): BuildError {
  const Kind = KIND_CLASSES[code];
  return Kind ? new Kind(message, opts) : new BuildError(code, message, opts);
}

/**
 * True when `err` is a BuildError of kind `code`, however it was made: `new NotFoundError(…)`
 * and `new BuildError('NOT_FOUND', …)` are the same kind. Check kinds with this (or the
 * `isNotFound`-style helpers below), never with `instanceof` a subclass.
 */
export function hasCode(err: unknown, code: ErrorCode): err is BuildError {
  return err instanceof BuildError && err.code === code;
}

/** `hasCode(err, 'NOT_FOUND')` */
export const isNotFound = (err: unknown): err is BuildError => hasCode(err, 'NOT_FOUND');
/** `hasCode(err, 'ALREADY_EXISTS')` */
export const isAlreadyExists = (err: unknown): err is BuildError => hasCode(err, 'ALREADY_EXISTS');
/** `hasCode(err, 'DIGEST_MISMATCH')` */
export const isDigestMismatch = (err: unknown): err is BuildError => hasCode(err, 'DIGEST_MISMATCH');
/** `hasCode(err, 'REGISTRY')` */
export const isRegistryError = (err: unknown): err is BuildError => hasCode(err, 'REGISTRY');

/** Wraps anything thrown into a BuildError; unknown errors become InternalError. */
export function toBuildError(err: unknown): BuildError {
  if (err instanceof BuildError) return err;
  const e = err as NodeJS.ErrnoException | undefined;
  if (e && typeof e === 'object' && typeof e.code === 'string') {
    switch (e.code) {
      case 'ENOSPC':
        return new BuildError('IO', `no space left on device${e.path ? `: ${e.path}` : ''}`, { cause: err, hint: 'free some space or run "mybuild prune"' });
      case 'EACCES':
      case 'EPERM':
        return new BuildError('IO', `permission denied${e.path ? `: ${e.path}` : ''}`, { cause: err });
      case 'EROFS':
        return new BuildError('IO', `read-only file system${e.path ? `: ${e.path}` : ''}`, { cause: err });
      case 'ABORT_ERR':
        return new BuildError('CANCELED', 'canceled', { cause: err });
    }
    // node:util parseArgs rejects bad command lines with these codes: a usage error, not a bug.
    if (e.code.startsWith('ERR_PARSE_ARGS_')) {
      return new UsageError(e.message, { cause: err, hint: 'run the command with --help for its flags' });
    }
  }
  const message = err instanceof Error ? err.message : String(err);
  return new InternalError(message, { cause: err });
}

/** The source line(s) of `range` with a caret line under the first one. */
export function excerpt(text: string, range: Range): string[] {
  const lines = text.split(/\r?\n/);
  const lineNo = range.start.line;
  const line = lines[lineNo - 1];
  if (line === undefined) return [];
  const width = String(range.end.line).length;
  const gutter = ' '.repeat(width);
  const out = [` ${String(lineNo).padStart(width)} | ${line}`];
  const caretLen = range.end.line === lineNo ? Math.max(1, range.end.col - range.start.col) : Math.max(1, line.length - range.start.col + 1);
  out.push(` ${gutter} | ${' '.repeat(Math.max(0, range.start.col - 1))}${'^'.repeat(caretLen)}`);
  return out;
}

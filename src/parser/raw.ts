/** The grammar's output: instructions as runs of line tokens (see grammar/dockerfile.ne). */
import type { LineToken } from './lexer.js';

export interface RawHeredoc {
  body: LineToken[];
  end: LineToken;
}

export interface RawInstruction {
  /** The first line, then continuation lines (comments and blank lines inside included). */
  lines: LineToken[];
  heredocs: RawHeredoc[];
}

export interface RawFile {
  directives: LineToken[];
  instructions: RawInstruction[];
}

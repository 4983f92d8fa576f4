/**
 * Places in a source text (a Dockerfile): what the parser puts on every node and what an error
 * points at. Positions are 1-based line and column (columns count UTF-16 code units, as
 * JavaScript strings do) and a 0-based `offset` into the text as given (a BOM, if any, counts).
 * `end` is exclusive: it points just past the last character.
 */

export interface Position {
  line: number;
  col: number;
  offset: number;
}

export interface Range {
  start: Position;
  end: Position;
}

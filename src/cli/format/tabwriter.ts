/**
 * Go's text/tabwriter as docker's CLI configures it for `table` formats (minwidth 10,
 * tabwidth 1, padding 3, padchar ' ', no flags): tab-terminated cells of consecutive lines form
 * a column block whose width is its widest cell + 3 (at least 10); a line's last cell (after
 * its last tab) is not part of a column.
 */
const MIN_WIDTH = 10;
const PADDING = 3;

function width(s: string): number {
  return [...s].length;
}

/** Aligns `text` (lines of tab-separated cells) as tabwriter.NewWriter(out, 10, 1, 3, ' ', 0) does. */
export function tabwrite(text: string): string {
  const lines = text.split('\n').map((l) => l.split('\t'));
  const trailing = text.endsWith('\n');
  if (trailing) lines.pop();
  const widths: number[] = [];
  const out: string[] = [];
  const emit = (from: number, to: number): void => {
    for (let i = from; i < to; i++) {
      const cells = lines[i];
      out.push(cells.map((c, j) => (j < cells.length - 1 ? c + ' '.repeat(Math.max(0, (widths[j] ?? 0) - width(c))) : c)).join(''));
    }
  };
  const format = (line0: number, line1: number): void => {
    const column = widths.length;
    let start = line0;
    for (let i = line0; i < line1; i++) {
      if (column >= lines[i].length - 1) continue;
      emit(start, i);
      start = i;
      let w = MIN_WIDTH;
      let j = i;
      for (; j < line1 && column < lines[j].length - 1; j++) w = Math.max(w, width(lines[j][column]) + PADDING);
      widths.push(w);
      format(start, j);
      widths.pop();
      start = j;
      i = j - 1;
    }
    emit(start, line1);
  };
  format(0, lines.length);
  return out.join('\n') + (trailing ? '\n' : '');
}

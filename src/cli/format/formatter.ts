/**
 * docker's `--format` for listings and documents (its cli/command/formatter Context):
 *
 * - `table` (or no format): the command's default table; `table TEMPLATE`: a header row (the
 *   template run on the column names, `{{.ID}}` → `IMAGE ID`) and one row per item, aligned
 *   by tabwriter (./tabwriter.ts);
 * - `json`: `{{json .}}` per item;
 * - any other text: a Go template (./template.ts) run on each item, a newline after each.
 *
 * `\t` and `\n` written as two characters are a tab and a newline, and the format is trimmed
 * of spaces, as docker does.
 */
import { tabwrite } from './tabwriter.js';
import { Template } from './template.js';

export interface ListFormat {
  /** The default `table` template (`table {{.Repository}}\t{{.Tag}}…`, without `table `). */
  table: string;
  /** The column name of each field (`ID` → `IMAGE ID`). */
  headers: Record<string, string>;
  /** The template of `-q` with a table format (`{{.ID}}`). */
  quiet?: string;
}

/** docker's preFormat: the template text without `table `, escapes replaced, spaces trimmed. */
function templateText(format: string): string {
  return format.replace(/^table/, '').trim().replace(/\\t/g, '\t').replace(/\\n/g, '\n');
}

export function isTableFormat(format: string | undefined): boolean {
  return format === undefined || format === '' || format === 'table' || format.startsWith('table ');
}

/** Formats `rows` (docker's formatter contexts: asStruct objects) with `format` (undefined: `table`). */
export function formatList(format: string | undefined, rows: unknown[], spec: ListFormat, opts: { quiet?: boolean } = {}): string {
  const f = format === undefined || format === '' ? 'table' : format;
  if (opts.quiet && isTableFormat(f)) {
    const t = Template.parse(spec.quiet ?? '{{.ID}}');
    return rows.map((r) => `${t.execute(r)}\n`).join('');
  }
  if (f === 'json') {
    const t = Template.parse('{{json .}}');
    return rows.map((r) => `${t.execute(r)}\n`).join('');
  }
  const table = f.startsWith('table');
  const t = Template.parse(f === 'table' ? spec.table : templateText(f));
  let body = rows.map((r) => `${t.execute(r)}\n`).join('');
  if (!table) return body;
  // docker runs the template on a map[string]string of the column names: unknown fields are "".
  const names = spec.headers;
  const headers = new Proxy(names, {
    get: (o, k) => (typeof k === 'string' ? (o[k] ?? '') : undefined),
    getOwnPropertyDescriptor: (o, k) => (typeof k === 'string' ? { value: o[k] ?? '', writable: true, enumerable: true, configurable: true } : undefined),
  });
  const header = t.execute(headers);
  body = `${header}\n${body}`;
  return tabwrite(body);
}

/** Parses `format` (a Go template, `table …`, `json`) so a bad one fails before anything is read. */
export function checkFormat(format: string | undefined): void {
  if (format === undefined || format === '' || format === 'json' || format === 'table') return;
  Template.parse(templateText(format));
}

/** Formats one document (`inspect`, `info`, `version`) with a Go template or `json`. */
export function formatDocument(format: string, doc: unknown): string {
  const t = Template.parse(format === 'json' ? '{{json .}}' : templateText(format));
  return `${t.execute(doc)}\n`;
}

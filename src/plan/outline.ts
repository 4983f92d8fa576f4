/**
 * `--call=targets` and `--call=outline` (BuildKit's frontend/subrequests targets and outline
 * packages, as buildx prints them): the data and its text rendering.
 *
 * - targets: every stage, in order, with the description from the comment above its FROM
 *   (`# <name> <description>`); the last stage is the default.
 * - outline: the target's name and description, the build args it uses (value after build args,
 *   description from `# <ARG> <description>`), the secrets and ssh ids of its RUN --mount flags.
 *   Computed by runChecks (./checks.ts), which walks the stages as the build does.
 *
 * The text is Go's text/tabwriter output (columns padded with spaces to the widest cell plus
 * the padding), byte for byte. Pure.
 */
import type { Dockerfile } from '../parser/ast.js';
import { BuildError } from '../errors.js';
import { docComment, instructionComments, runChecks, type CheckOptions, type OutlineData } from './checks.js';
import { parseFrom } from './instructions.js';

/** One row of `--call=targets` (targets.Target). */
export interface TargetInfo {
  /** Lower-cased stage name; '' for an unnamed stage. */
  name: string;
  description: string;
  /** The last stage. */
  default: boolean;
  /** The FROM image as written. */
  base: string;
  /** The FROM --platform as written ('' when none). */
  platform: string;
  line: number;
}

/** The stages of `ast` (dockerfile2llb.ListTargets). Throws PlanError for an invalid FROM. */
export function listTargets(ast: Dockerfile, text: string): TargetInfo[] {
  const comments = instructionComments(ast, text);
  const froms = ast.instructions.map((n, i) => ({ n, i })).filter((x) => x.n.kind === 'FROM');
  if (froms.length === 0) throw new BuildError('PLAN', 'dockerfile contains no stages to build');
  return froms.map(({ n, i }, k) => {
    const h = parseFrom(n as Extract<typeof n, { kind: 'FROM' }>, { ast, text });
    return { name: h.name ?? '', description: docComment(comments[i]!, h.name ?? ''), default: k === froms.length - 1, base: h.image, platform: h.platform ?? '', line: n.range.start.line };
  });
}

/**
 * Go text/tabwriter with minwidth 0, tabwidth 0, padchar ' ' and no flags, for rows that all have
 * the same number of cells: every cell but the last is padded to its column's widest cell plus
 * `padding` (widths in code points).
 */
export function tabwrite(rows: readonly (readonly string[])[], padding: number): string {
  const widths: number[] = [];
  for (const r of rows) r.slice(0, -1).forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, [...c].length + padding)));
  return rows.map((r) => `${r.map((c, i) => (i < r.length - 1 ? c + ' '.repeat(widths[i]! - [...c].length) : c)).join('')}\n`).join('');
}

/** targets.PrintTargets: `TARGET DESCRIPTION` rows, `(default)` after the last stage's name. */
export function formatTargets(targets: readonly TargetInfo[]): string {
  const rows = [['TARGET', 'DESCRIPTION']];
  for (const t of targets) {
    let name = t.name;
    if (name === '' && t.default) name = '(default)';
    else if (t.default) name = `${name} (default)`;
    rows.push([name, t.description]);
  }
  return tabwrite(rows, 1);
}

/**
 * The outline of the build's target (dockerfile2llb.Dockerfile2Outline): runChecks in build mode
 * (only the stages the target needs). Throws BuildError when the Dockerfile has an error.
 */
export async function outline(ast: Dockerfile, opts: Omit<CheckOptions, 'mode' | 'allStages'>): Promise<OutlineData> {
  const r = await runChecks(ast, { ...opts, mode: 'build', allStages: false });
  if (r.error && !r.violation) {
    throw new BuildError('PLAN', r.error.message, r.error.range ? { source: { file: ast.file, range: r.error.range, text: opts.text } } : {});
  }
  return r.outline;
}

/** outline.PrintOutline: TARGET/DESCRIPTION, then the BUILD ARG, SECRET and SSH tables, each followed by a blank line. */
export function formatOutline(o: OutlineData): string {
  let out = '';
  if (o.name !== '' || o.description !== '') {
    const rows = [['TARGET:', o.name === '' ? '(default)' : o.name]];
    if (o.description !== '') rows.push(['DESCRIPTION:', o.description]);
    out += `${tabwrite(rows, 1)}\n`;
  }
  if (o.args.length) out += `${tabwrite([['BUILD ARG', 'VALUE', 'DESCRIPTION'], ...o.args.map((a) => [a.name, a.value, a.description])], 3)}\n`;
  if (o.secrets.length) out += `${tabwrite([['SECRET', 'REQUIRED'], ...o.secrets.map((s) => [s.name, s.required ? 'true' : ''])], 3)}\n`;
  if (o.ssh.length) out += `${tabwrite([['SSH', 'REQUIRED'], ...o.ssh.map((s) => [s.name, s.required ? 'true' : ''])], 3)}\n`;
  return out;
}

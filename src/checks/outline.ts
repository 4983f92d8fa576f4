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
import { BuildError, PlanError } from '../errors.js';
import { parseDockerfile } from '../parser/index.js';
import { DEFAULT_CHECK_CONFIG } from '../parser/checks.js';
import { docComment, formatCheckReport, instructionComments, runChecks, type CheckOptions, type CheckResult, type OutlineData } from './checks.js';
import { parseFrom } from '../plan/instructions.js';

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
  if (froms.length === 0) throw new PlanError('dockerfile contains no stages to build');
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
    throw new PlanError(r.error.message, r.error.range ? { source: { file: ast.file, range: r.error.range, text: opts.text } } : {});
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

function lineLocation(line: number): Record<string, unknown> {
  return { ranges: [{ start: { line }, end: { line } }] };
}

/** targets.List as JSON (`--call=targets,format=json`). */
export function targetsJSON(targets: readonly TargetInfo[], text: string): string {
  const list = targets.map((t) => ({
    ...(t.name ? { name: t.name } : {}),
    ...(t.default ? { default: true } : {}),
    ...(t.description ? { description: t.description } : {}),
    ...(t.base ? { base: t.base } : {}),
    ...(t.platform ? { platform: t.platform } : {}),
    location: lineLocation(t.line),
  }));
  return `${JSON.stringify({ targets: list, sources: [Buffer.from(text).toString('base64')] }, null, 2)}\n`;
}

/** outline.Outline as JSON (`--call=outline,format=json`). */
export function outlineJSON(o: OutlineData, text: string): string {
  const mounts = (ms: OutlineData['secrets']) => ms.map((m) => ({ name: m.name, ...(m.required ? { required: true } : {}), location: lineLocation(m.line) }));
  const out = {
    ...(o.name ? { name: o.name } : {}),
    ...(o.description ? { description: o.description } : {}),
    ...(o.args.length ? { args: o.args.map((a) => ({ name: a.name, ...(a.description ? { description: a.description } : {}), ...(a.value ? { value: a.value } : {}), location: lineLocation(a.line) })) } : {}),
    ...(o.secrets.length ? { secrets: mounts(o.secrets) } : {}),
    ...(o.ssh.length ? { ssh: mounts(o.ssh) } : {}),
    sources: [Buffer.from(text).toString('base64')],
  };
  return `${JSON.stringify(out, null, 2)}\n`;
}

const RESULT_METADATA = [
  { name: 'result.json', description: '' },
  { name: 'result.txt', description: '' },
];

/**
 * The subrequests the Dockerfile frontend describes (BuildKit's dockerui describe(): outline,
 * targets and describe itself; the lint request is not listed there), as their
 * subrequests.Request definitions marshal (Go's nil slices as null).
 */
const SUBREQUESTS = [
  { name: 'frontend.outline', version: '1.0.0', type: 'rpc', description: 'List all parameters current build target supports', opts: [{ name: 'target', description: 'Target build stage' }], inputs: null, metadata: RESULT_METADATA, refs: null },
  { name: 'frontend.targets', version: '1.0.0', type: 'rpc', description: 'List all targets current build supports', opts: [], inputs: null, metadata: RESULT_METADATA, refs: null },
  { name: 'frontend.subrequests.describe', version: '1.0.0', type: 'rpc', description: 'List available subrequest types', opts: null, inputs: null, metadata: RESULT_METADATA, refs: null },
];

/** subrequests.PrintDescribe: `NAME VERSION DESCRIPTION` rows (tabwriter, padding 1), names without `frontend.`. */
function formatDescribe(): string {
  const rows = [['NAME', 'VERSION', 'DESCRIPTION'], ...SUBREQUESTS.map((r) => [r.name.replace(/^frontend\./, ''), r.version, r.description])];
  const widths = [0, 1].map((c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => `${r[0]!.padEnd(widths[0]! + 1)}${r[1]!.padEnd(widths[1]! + 1)}${r[2]}\n`).join('');
}

/** A parsed `--call` value (buildx buildflags.ParseCallFunc). */
export interface CallSpec {
  /** `check` (buildx's alias `lint` too), `outline`, `targets`, `subrequests.describe`, or `build` (a normal build). */
  name: 'build' | 'check' | 'outline' | 'targets' | 'subrequests.describe';
  format: 'text' | 'json';
  /** `ignorestatus=true`: warnings do not make the exit code non-zero. */
  ignoreStatus: boolean;
}

/**
 * Parses `--call=<name>[,format=json|text][,ignorestatus=<bool>]` as buildx does. Throws
 * BuildError (INVALID_ARGUMENT) for an unknown field, two names, a bad bool, or a name other
 * than build, check/lint, outline and targets (buildx would send those to the frontend, which
 * has no other subrequests that print).
 */
export function parseCallFlag(value: string): CallSpec {
  const spec: CallSpec = { name: 'build', format: 'text', ignoreStatus: false };
  let name = '';
  const bad = (msg: string) => new BuildError('INVALID_ARGUMENT', msg, { hint: 'use --call=check|outline|targets|subrequests.describe[,format=json][,ignorestatus=true]' });
  for (const field of value.split(',')) {
    const eq = field.indexOf('=');
    if (eq >= 0) {
      const k = field.slice(0, eq);
      const v = field.slice(eq + 1);
      if (k === 'format') {
        if (v !== 'json' && v !== 'text') throw bad(`invalid --call format: ${v}`);
        spec.format = v;
      } else if (k === 'ignorestatus') {
        const b = ['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v) ? true : ['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v) ? false : undefined;
        if (b === undefined) throw bad(`invalid ignorestatus print value: ${v}`);
        spec.ignoreStatus = b;
      } else {
        throw bad(`invalid print field: ${field}`);
      }
    } else {
      if (name !== '') throw bad(`invalid print value: ${value}`);
      name = field;
    }
  }
  if (name === 'lint') name = 'check';
  if (name === '') name = 'build';
  if (name !== 'build' && name !== 'check' && name !== 'outline' && name !== 'targets' && name !== 'subrequests.describe') throw bad(`unsupported --call method ${JSON.stringify(name)}`);
  spec.name = name;
  return spec;
}

/** What `evaluateCall` needs besides the Dockerfile text (see CheckOptions). */
export interface CallOptions extends Omit<CheckOptions, 'text' | 'mode' | 'allStages' | 'parseWarnings'> {
  /** The name errors and warnings are reported against (default `Dockerfile`). */
  file?: string;
}

/**
 * Runs `--call=<spec>` (or `--check`) on a Dockerfile instead of building it, and returns what to
 * print and the exit code: check (formatCheckReport), outline and targets (text or JSON; exit 0).
 * Throws ParseError/BuildError for a Dockerfile outline or targets cannot read (the CLI's usual
 * error report); `check` reports such errors in its own output instead, as buildx does.
 */
export async function evaluateCall(call: CallSpec, text: string, opts: CallOptions = {}): Promise<{ stdout: string; stderr: string; exitCode: number }> {
  if (call.name === 'build') throw new BuildError('INVALID_ARGUMENT', 'evaluateCall: --call=build is a normal build');
  if (call.name === 'subrequests.describe') return { stdout: call.format === 'json' ? `${JSON.stringify(SUBREQUESTS, null, 2)}\n` : formatDescribe(), stderr: '', exitCode: 0 };
  const file = opts.file ?? 'Dockerfile';
  const { file: _file, ...rest } = opts;
  if (call.name === 'check') {
    let parsed;
    try {
      parsed = parseDockerfile(text, { file });
    } catch (e) {
      if (!(e instanceof BuildError)) throw e;
      const result: CheckResult = { warnings: [], config: DEFAULT_CHECK_CONFIG, outline: { name: '', description: '', args: [], secrets: [], ssh: [] }, error: { message: e.message, ...(e.source ? { range: e.source.range } : {}) } };
      return formatCheckReport(result, text, { format: call.format, ignoreStatus: call.ignoreStatus, file });
    }
    const result = await runChecks(parsed.ast, { ...rest, text, mode: 'check', parseWarnings: parsed.warnings });
    return formatCheckReport(result, text, { format: call.format, ignoreStatus: call.ignoreStatus, file });
  }
  const { ast } = parseDockerfile(text, { file });
  if (call.name === 'targets') {
    const t = listTargets(ast, text);
    return { stdout: call.format === 'json' ? targetsJSON(t, text) : formatTargets(t), stderr: '', exitCode: 0 };
  }
  const o = await outline(ast, { ...rest, text });
  return { stdout: call.format === 'json' ? outlineJSON(o, text) : formatOutline(o), stderr: '', exitCode: 0 };
}

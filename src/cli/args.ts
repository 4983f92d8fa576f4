/**
 * The command-line flag parser every mybuild command uses: node:util parseArgs's syntax
 * (`--flag value`, `--flag=value`, `-f value`, `-fvalue`, grouped booleans `-qa`, `--`), with
 * mybuild's own errors in the wording of docker's CLI (cobra/pflag), exit code 2 (UsageError):
 *
 *     mybuild build: unknown flag: --tagg
 *     Did you mean --tag?
 *     hint: see 'mybuild build --help'
 *
 * - an unknown flag: `unknown flag: --x` / `unknown shorthand flag: 'x' in -x`, with the closest
 *   known flag as a suggestion;
 * - a flag without its value (at the end, or followed by another flag): `flag needs an
 *   argument: --tag` / `flag needs an argument: 't' in -t` (a value that starts with `-` is
 *   given inline: `--tag=-x`);
 * - a value given to a boolean flag: `true`/`false` (and Go's ParseBool spellings) are taken,
 *   as docker takes `--no-cache=false`; anything else is `invalid argument "maybe" for
 *   "--no-cache" flag: …`;
 * - a positional argument to a command that takes none.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from '../errors.js';
import { closest } from '../util/suggest.js';

type Parsed<T extends ParseArgsConfig> = ReturnType<typeof parseArgs<T>>;

/** Go's strconv.ParseBool spellings, which cobra's boolean flags accept after `=`. */
const TRUE = new Set(['1', 't', 'T', 'true', 'TRUE', 'True']);
const FALSE = new Set(['0', 'f', 'F', 'false', 'FALSE', 'False']);

/** The `See 'mybuild CMD --help'` hint of every flag error. */
function helpHint(cmd: string): string {
  return `see 'mybuild ${cmd} --help'`;
}

/** "Did you mean --tag?" for an unknown long flag: the closest known long flag, if close enough. */
function suggestion(flag: string, known: readonly string[]): string | undefined {
  if (!flag.startsWith('--')) return undefined;
  const names = known.filter((k) => k.startsWith('--')).map((k) => k.slice(2));
  const best = closest(flag.slice(2), names, (w) => (w.length <= 2 ? 0 : w.length <= 4 ? 1 : 2));
  return best === undefined ? undefined : `Did you mean --${best}?`;
}

/**
 * `mybuild CMD: unknown flag: --x` (with the closest of `known`, spelled `--name`/`-n`), or
 * `unknown shorthand flag: 'x' in -xyz` for a letter of `arg`.
 */
export function unknownFlag(cmd: string, flag: string, known: readonly string[], arg: string = flag): UsageError {
  const name = flag.replace(/=.*$/, '');
  const text = name.startsWith('--') ? `unknown flag: ${name}` : `unknown shorthand flag: '${name.slice(1, 2)}' in ${arg}`;
  const did = suggestion(name, known);
  return new UsageError(`mybuild ${cmd}: ${text}`, { details: did ? [did] : undefined, hint: helpHint(cmd) });
}

/** `mybuild CMD: flag needs an argument: --tag` (or `'t' in -t`, as pflag says it). */
export function flagNeedsArgument(cmd: string, flag: string, hint?: string): UsageError {
  const text = flag.startsWith('--') ? flag : `'${flag.slice(1)}' in ${flag}`;
  return new UsageError(`mybuild ${cmd}: flag needs an argument: ${text}`, { hint: hint ? `${hint}; ${helpHint(cmd)}` : helpHint(cmd) });
}

/** `mybuild CMD: invalid argument "V" for "--flag" flag: WHY`. */
export function invalidFlagValue(cmd: string, flag: string, value: string, why: string): UsageError {
  return new UsageError(`mybuild ${cmd}: invalid argument "${value}" for "${flag}" flag: ${why}`, { hint: helpHint(cmd) });
}

/** Every spelling of the flags in `options`: `--name` and `-s`. */
function knownFlags(options: NonNullable<ParseArgsConfig['options']>): string[] {
  return Object.entries(options).flatMap(([name, o]) => [`--${name}`, ...(o.short ? [`-${o.short}`] : [])]);
}

/**
 * Parses `config.args` as node:util parseArgs does with `strict: true`, with the errors above.
 * `cmd` names the command in them (`build`, `system check`).
 */
export function parseCommandArgs<T extends ParseArgsConfig>(cmd: string, config: T): Parsed<T> {
  const options = config.options ?? {};
  const known = knownFlags(options);
  const { tokens } = parseArgs({ args: config.args, options, allowPositionals: true, strict: false, tokens: true });
  const values: Record<string, unknown> = Object.create(null);
  const positionals: string[] = [];
  for (const t of tokens) {
    if (t.kind === 'option-terminator') continue;
    if (t.kind === 'positional') {
      if (config.allowPositionals === false || (config.allowPositionals === undefined && config.strict !== false)) {
        throw new UsageError(`mybuild ${cmd}: unexpected argument "${t.value}": the command takes no arguments`, { hint: helpHint(cmd) });
      }
      positionals.push(t.value);
      continue;
    }
    const o = Object.hasOwn(options, t.name) ? options[t.name] : undefined;
    if (!o) throw unknownFlag(cmd, t.rawName, known, config.args?.[t.index]);
    let value: string | boolean;
    if (o.type === 'boolean') {
      if (t.value === undefined) value = true;
      else if (TRUE.has(t.value)) value = true;
      else if (FALSE.has(t.value)) value = false;
      else throw invalidFlagValue(cmd, t.rawName, t.value, 'the flag is a boolean: give true or false, or leave the value out');
    } else {
      // A missing value, or the next flag taken as the value (`-t --push`): refuse, as
      // node's strict mode does; `--tag=-x` gives a value that starts with a dash.
      if (t.value === undefined || (!t.inlineValue && t.value.length > 1 && t.value.startsWith('-'))) {
        const inline = t.rawName.startsWith('--') ? t.rawName : `--${t.name}`;
        throw flagNeedsArgument(cmd, t.rawName, t.value === undefined ? undefined : `to give a value that starts with "-", write ${inline}=${t.value}`);
      }
      value = t.value;
    }
    if (o.multiple) ((values[t.name] ??= []) as unknown[]).push(value);
    else values[t.name] = value;
  }
  for (const [name, o] of Object.entries(options)) {
    if (values[name] === undefined && o.default !== undefined) values[name] = o.default;
  }
  return { values, positionals } as Parsed<T>;
}

/**
 * The names steps are shown under in progress. An instruction is shown as written (first 120
 * characters); a RUN, once its stage's variables are known, as BuildKit names its vertex
 * (dispatchRun: processCmdEnv over the instruction with quotes kept and unset variables left
 * as written, the keyword upper-cased), where a `--mount=type=secret,env=NAME` variable reads
 * `****` (withSecretEnvMask). Pure.
 */
import type { MountSpec, RunCommand } from '../plan/index.js';
import type { ShellLex } from '../plan/shell-lex.js';

/** Longer instructions are cut to this many characters, ending in `...`. */
const MAX_SHOWN = 120;

/** `text` cut to the length progress shows. */
export function shownInstruction(text: string): string {
  return text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN - 3)}...` : text;
}

/**
 * The progress name of RUN `cmd` with the stage's variables `vars`; `expand` gives the command
 * expanded (for mounts written with variables), and may throw (then no variable is masked).
 */
export function runStepName(lex: ShellLex, cmd: RunCommand, vars: ReadonlyMap<string, string>, expand: (cmd: RunCommand) => RunCommand): string {
  let mounts: readonly MountSpec[] = cmd.mounts ?? [];
  if (cmd.mounts === null) {
    try {
      mounts = expand(cmd).mounts ?? [];
    } catch {
      /* the step reports it */
    }
  }
  const env = new Map(vars);
  for (const m of mounts) if (m.type === 'secret' && m.env !== undefined) env.set(m.env, '****');
  const expanded = lex.processDisplayWord(cmd.node.original.trim(), env);
  const sp = expanded.indexOf(' ');
  return shownInstruction(sp < 0 ? expanded.toUpperCase() : `${expanded.slice(0, sp).toUpperCase()}${expanded.slice(sp)}`);
}

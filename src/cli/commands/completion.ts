/**
 * `mybuild completion bash|zsh|fish`: prints the shell completion script (src/cli/completion.ts).
 * `mybuild __complete images|containers` (hidden) prints the names the scripts offer.
 */
import { UsageError } from '../../errors.js';
import { familiarName } from '../../oci/reference.js';
import { parseCommandArgs } from '../args.js';
import type { CliContext, CommandMain } from '../context.js';
import { engineFor } from '../engine.js';
import { HELP_FLAG, printHelp, type CommandHelp, type Flags } from '../help.js';

export const FLAGS = { help: HELP_FLAG } as const satisfies Flags;

export const HELP: CommandHelp = {
  name: 'mybuild completion',
  usage: 'bash|zsh|fish',
  summary: 'Generate the autocompletion script for the specified shell',
  flags: FLAGS,
};

export const main: CommandMain = async (args, ctx) => {
  const { values, positionals } = parseCommandArgs('completion', { args, options: FLAGS, allowPositionals: true });
  if (values.help) return printHelp(ctx, HELP);
  const { bashScript, fishScript, zshScript } = await import('../completion.js');
  const shells: Record<string, () => Promise<string>> = { bash: bashScript, zsh: zshScript, fish: fishScript };
  if (positionals.length !== 1 || !Object.hasOwn(shells, positionals[0])) {
    throw new UsageError(positionals.length === 1 ? `completion: unsupported shell "${positionals[0]}"` : '"mybuild completion" requires exactly 1 argument', { hint: 'usage: mybuild completion bash|zsh|fish' });
  }
  ctx.stdout.write(await shells[positionals[0]]());
  return 0;
};

/** `mybuild __complete images|containers`: image names (repo:tag) or container names, one a line. */
export async function completeNames(kind: string | undefined, ctx: CliContext): Promise<number> {
  const engine = engineFor(ctx);
  if (kind === 'images') {
    const { images } = await engine.images.list();
    const names = new Set<string>();
    for (const i of images) {
      if (i.name === undefined) continue;
      const at = i.name.indexOf('@');
      const colon = i.name.lastIndexOf(':');
      if (at < 0 && colon > i.name.lastIndexOf('/')) names.add(`${familiarName(i.name.slice(0, colon))}${i.name.slice(colon)}`);
      else names.add(i.name);
    }
    ctx.stdout.write([...names].sort().map((n) => `${n}\n`).join(''));
    return 0;
  }
  if (kind === 'containers') {
    const list = await engine.containers.list({ all: true });
    ctx.stdout.write(list.map((c) => `${c.name}\n`).join(''));
    return 0;
  }
  throw new UsageError(`__complete: unknown kind "${kind ?? ''}"`, { hint: 'images or containers' });
}

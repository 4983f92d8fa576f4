/**
 * Every command's help, loaded from the command modules (their `HELP`), in the order
 * `mybuild --help` lists them: what the README's usage section (scripts/gen-usage.mjs), the
 * shell completion scripts and the help tests read. Groups (`mybuild image ls`) are aliases
 * of these commands (src/cli/groups.ts).
 */
import { COMMANDS } from './commands.js';
import { GLOBAL_FLAGS, type CommandHelp, type Flags } from './help.js';

export { GLOBAL_FLAGS };

/** Every command's help, by command name (a command with subcommands carries theirs). */
export async function allHelps(): Promise<Array<{ command: string; help: CommandHelp }>> {
  const names = Object.keys(COMMANDS).sort();
  return Promise.all(names.map(async (command) => ({ command, help: (await COMMANDS[command].load()).HELP })));
}

/** `-q/--quiet`, `--format string`: a flag table in one line. */
export function flagSummary(flags: Flags): string {
  return Object.entries(flags)
    .filter(([n]) => n !== 'help')
    .map(([n, f]) => `${f.short ? `-${f.short}/` : ''}--${n}${f.type === 'boolean' ? '' : ` ${f.arg ?? (f.multiple ? 'list' : 'string')}`}`)
    .join(', ');
}

/** The README's usage block: each command's usage line, summary and flags. */
export async function usageMarkdown(): Promise<string> {
  const lines: string[] = [];
  const add = (h: CommandHelp): void => {
    lines.push(`${h.name}${h.usage ? ` ${h.usage}` : ''}`, `    # ${h.summary}`);
    const flags = flagSummary(h.flags);
    if (flags) lines.push(`    # ${flags}`);
    for (const s of h.subcommands ?? []) add(s);
  };
  for (const { help } of await allHelps()) add(help);
  lines.push('', `# global options: ${flagSummary(GLOBAL_FLAGS)}`);
  return ['```sh', ...lines, '```', ''].join('\n');
}

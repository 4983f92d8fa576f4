/**
 * Help texts built from the flag tables themselves: every command's flags are a `Flags` table
 * (node:util parseArgs's option config plus a description, the value's name and a group),
 * which src/cli/args.ts parses with and `renderHelp` prints in the layout of docker's (cobra's)
 * help:
 *
 *     Usage:  mybuild images [OPTIONS] [REPOSITORY[:TAG]]
 *
 *     List images
 *
 *     Aliases:
 *       mybuild image ls, mybuild image list, mybuild images
 *
 *     Options:
 *       -q, --quiet           Only show image IDs
 *
 * The same tables give the README's usage section (scripts/gen-usage.mjs) and the shell
 * completion's flags (src/cli/completion.ts).
 */

/** One flag: parseArgs's config (type, short, multiple, default) and its help. */
export interface FlagSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  default?: string | boolean | string[] | boolean[];
  /** One line, as docker's flag usage (`Name of the Dockerfile`). */
  description: string;
  /** The value's name in the help (`string`, `list`, `file`…); default `string`, `list` when repeatable. */
  arg?: string;
  /** The help section the flag is listed in; default `Options`. */
  group?: string;
  /** Other spellings the parser takes (`--net` of `--network`); not listed. */
  aliases?: string[];
}

export type Flags = Record<string, FlagSpec>;

/** The help of one command (or one subcommand of a command with subcommands). */
export interface CommandHelp {
  /** `mybuild images`, `mybuild system df`. */
  name: string;
  /** What follows the name in the usage line: `[OPTIONS] [REPOSITORY[:TAG]]`. */
  usage: string;
  summary: string;
  flags: Flags;
  /** Other names that run the same command (`mybuild image ls`). */
  aliases?: string[];
  /** A command with subcommands (`mybuild system`): their helps. */
  subcommands?: CommandHelp[];
}

/** The `-h, --help` flag every command has. */
export const HELP_FLAG = { type: 'boolean', short: 'h', description: 'Print usage' } as const satisfies FlagSpec;

/** The global options (src/cli.ts splitGlobalOptions parses them; the client's TLS flags: src/client/tls.ts). */
export const GLOBAL_FLAGS = {
  debug: { type: 'boolean', short: 'D', description: 'Print stack traces of internal errors', group: 'Global Options' },
  host: { type: 'string', short: 'H', arg: 'string', description: 'Daemon socket to connect to (unix:///path.sock or tcp://host:port; MYBUILD_HOST)', group: 'Global Options' },
  root: { type: 'string', arg: 'dir', description: 'Store directory (default /var/lib/mybuild as root, $XDG_DATA_HOME/mybuild otherwise; MYBUILD_ROOT)', group: 'Global Options' },
  tls: { type: 'boolean', description: 'Use TLS with a TCP daemon (DOCKER_TLS); implied by --tlsverify', group: 'Global Options' },
  tlscacert: { type: 'string', arg: 'file', description: 'Trust certs signed only by this CA (default ca.pem in DOCKER_CERT_PATH or ~/.docker)', group: 'Global Options' },
  tlscert: { type: 'string', arg: 'file', description: 'Path to TLS certificate file (default cert.pem)', group: 'Global Options' },
  tlskey: { type: 'string', arg: 'file', description: 'Path to TLS key file (default key.pem)', group: 'Global Options' },
  tlsverify: { type: 'boolean', description: 'Use TLS and verify the remote (DOCKER_TLS_VERIFY)', group: 'Global Options' },
  version: { type: 'boolean', short: 'v', description: 'Print version information and quit', group: 'Global Options' },
} as const satisfies Flags;

/** `-s, --name arg` or `    --name arg`: the left column of a flag line. */
function flagColumn(name: string, f: FlagSpec): string {
  const arg = f.type === 'boolean' ? '' : ` ${f.arg ?? (f.multiple ? 'list' : 'string')}`;
  return `${f.short ? `-${f.short}, ` : '    '}--${name}${arg}`;
}

/** The flag sections of a table: group name → rendered lines, in first-seen order. */
export function flagSections(flags: Flags): Array<{ title: string; lines: string[] }> {
  const entries = Object.entries(flags);
  const width = Math.max(0, ...entries.map(([n, f]) => flagColumn(n, f).length));
  const groups = new Map<string, string[]>();
  for (const [name, f] of entries) {
    const title = f.group ?? 'Options';
    const lines = groups.get(title) ?? [];
    lines.push(`  ${flagColumn(name, f).padEnd(width)}   ${f.description}`);
    groups.set(title, lines);
  }
  return [...groups].map(([title, lines]) => ({ title, lines }));
}

/** The whole `--help` text of `h`. */
export function renderHelp(h: CommandHelp): string {
  const out = [`Usage:  ${h.name}${h.usage ? ` ${h.usage}` : ''}`, '', h.summary, ''];
  if (h.aliases?.length) out.push('Aliases:', `  ${[h.name, ...h.aliases].join(', ')}`, '');
  if (h.subcommands?.length) {
    const width = Math.max(...h.subcommands.map((s) => s.name.length - h.name.length - 1));
    out.push('Commands:', ...h.subcommands.map((s) => `  ${s.name.slice(h.name.length + 1).padEnd(width)}   ${s.summary}`), '');
  }
  for (const s of flagSections(h.flags)) out.push(`${s.title}:`, ...s.lines, '');
  if (h.subcommands?.length) out.push(`Run '${h.name} COMMAND --help' for more information on a command.`, '');
  return out.join('\n');
}

/** Writes the help of `h` to `ctx.stdout`; returns exit code 0 (a command's `--help`). */
export function printHelp(ctx: { stdout: NodeJS.WritableStream }, h: CommandHelp): number {
  ctx.stdout.write(renderHelp(h));
  return 0;
}

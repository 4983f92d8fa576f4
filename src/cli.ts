#!/usr/bin/env node
/**
 * The mybuild CLI. Global options (`--root DIR`, `-H/--host ADDR`, `--debug`) may stand before
 * or after the command; the client's TLS flags (`--tls`, `--tlsverify`, `--tlscacert`, `--tlscert`,
 * `--tlskey`) before it. Without a known command the arguments are a `build` (as in
 * `mybuild -f Dockerfile -t app:1 .`).
 *
 * One top-level catch tells user errors (BuildError: message, excerpt, hint, exit code by
 * code) from bugs (anything else: "internal error", exit 70, stack only with --debug).
 */
import { assertClientMode, COMMANDS } from './cli/commands.js';
import { GROUPS, groupHelp, resolveGroup } from './cli/groups.js';
import { flagSections, GLOBAL_FLAGS } from './cli/help.js';
import { defaultRoot, type CliContext } from './cli/context.js';
import { UsageError, toBuildError } from './errors.js';
import path from 'node:path';
import { closest } from './util/suggest.js';
import { takeTlsFlag, type ClientTlsFlags } from './client/tls.js';

/** Removes the global options from argv; returns them and the remaining arguments. */
export function splitGlobalOptions(argv: string[], env: NodeJS.ProcessEnv): { root: string; host?: string; debug: boolean; tls: ClientTlsFlags; rest: string[] } {
  let root: string | undefined;
  const tls: ClientTlsFlags = {};
  let host: string | undefined = env.MYBUILD_HOST || undefined;
  let debug = false;
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    // After the `daemon` command, -H/--host are its listen addresses (repeatable), not the client's target.
    if (rest[0] === 'daemon' && (a === '-H' || a === '--host' || a.startsWith('--host='))) {
      rest.push(a);
      if (!a.startsWith('--host=') && i + 1 < argv.length) rest.push(argv[++i]);
      continue;
    }
    if (a === '--') {
      rest.push(...argv.slice(i));
      break;
    }
    // The client's TLS flags come before the command, as docker's (`daemon --tls…` are its own).
    const took = rest.length === 0 ? takeTlsFlag(argv, i, tls) : 0;
    if (took) {
      i += took - 1;
      continue;
    }
    const takeValue = (flag: string): string => {
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`flag needs an argument: ${flag}`);
      return v;
    };
    if (a === '--root') root = takeValue(a);
    else if (a.startsWith('--root=')) root = a.slice('--root='.length);
    else if (a === '-H' || a === '--host') host = takeValue(a);
    else if (a.startsWith('--host=')) host = a.slice('--host='.length);
    else if (a === '--debug' || a === '-D') debug = true;
    else rest.push(a);
  }
  return { root: root ? path.resolve(root) : defaultRoot(env), host, debug, tls, rest };
}

/** The exit status when stdout's reader is gone (128 + SIGPIPE, as a shell reports `docker … | head`). */
export const BROKEN_PIPE_EXIT = 141;

export async function run(argv: string[], io: Partial<Pick<CliContext, 'stdout' | 'stderr' | 'stdin' | 'env' | 'cwd'>> = {}): Promise<number> {
  const env = io.env ?? process.env;
  const stderr = io.stderr ?? process.stderr;
  let debug = false;
  try {
    const g = splitGlobalOptions(argv, env);
    debug = g.debug;
    const ctx: CliContext = {
      root: g.root,
      host: g.host,
      tls: g.tls,
      debug: g.debug,
      stdout: io.stdout ?? process.stdout,
      stderr,
      stdin: io.stdin ?? process.stdin,
      env,
      cwd: io.cwd ?? process.cwd(),
    };
    let [name, ...args] = g.rest;
    if (name === 'help' && args.length) [name, ...args] = [...args, '--help']; // `mybuild help image ls`
    if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
      ctx.stdout.write(usage());
      return name === undefined ? 2 : 0;
    }
    if (name === '--version' || name === '-v') name = 'version';
    // The shell completion scripts' helper (hidden): names from the store, or the daemon at -H.
    if (name === '__complete') return await (await import('./cli/commands/completion.js')).completeNames(args[0], ctx);
    if (Object.hasOwn(GROUPS, name)) {
      if (args.length === 0 || args[0] === '--help' || args[0] === '-h') {
        ctx.stdout.write(groupHelp(name, Object.fromEntries(Object.entries(COMMANDS).map(([n, c]) => [n, c.summary]))));
        return args.length === 0 ? 2 : 0;
      }
      ({ name, args } = resolveGroup(name, args));
    }
    if (name === 'system' && args[0] === 'info') [name, args] = ['info', args.slice(1)]; // works with -H as info does
    if (!(name in COMMANDS)) {
      if (!('build' in COMMANDS) || !(name.startsWith('-') || name === '.' || name.includes('/'))) {
        throw new UsageError(`unknown command "${name}"`, { hint: suggestCommand(name) ?? 'run "mybuild help" for the list of commands' });
      }
      args = g.rest;
      name = 'build';
    }
    if (ctx.host) assertClientMode(name, ctx.host);
    const mod = await COMMANDS[name].load();
    return await mod.main(args, ctx);
  } catch (err) {
    // Our own output's reader went away (a stream error that reached the command): see main.ts.
    if ((err as NodeJS.ErrnoException | undefined)?.code === 'EPIPE' && ((io.stdout ?? process.stdout) as { destroyed?: boolean }).destroyed) return BROKEN_PIPE_EXIT;
    const e = toBuildError(err);
    stderr.write(`error: ${e.format()}\n`);
    if (e.code === 'INTERNAL') {
      stderr.write('This is a bug in mybuild; please report it with the command you ran.\n');
      if (debug && err instanceof Error && err.stack) stderr.write(`${err.stack}\n`);
    } else if (debug && e.cause instanceof Error && e.cause.stack) {
      stderr.write(`${e.cause.stack}\n`);
    }
    return e.exitCode;
  }
}

function usage(): string {
  const section = (names: string[]) => {
    const width = Math.max(...names.map((n) => n.length));
    return names.map((n) => `  ${n.padEnd(width)}  ${COMMANDS[n]?.summary ?? GROUPS[n].summary}`);
  };
  const all = Object.keys(COMMANDS).sort();
  return [
    'Usage:  mybuild [OPTIONS] COMMAND',
    '        mybuild [build options] PATH     (same as "mybuild build …")',
    '',
    'A Dockerfile build engine and container runner that needs no Docker engine',
    '',
    'Common Commands:',
    ...section(all.filter((n) => COMMANDS[n].section === 'Common Commands')),
    '',
    'Management Commands:',
    ...section([...Object.keys(GROUPS), 'cache', 'system'].sort()),
    '',
    'Commands:',
    ...section(all.filter((n) => !COMMANDS[n].section && n !== 'cache' && n !== 'system')),
    '',
    ...flagSections(GLOBAL_FLAGS).flatMap((s) => [`${s.title}:`, ...s.lines]),
    '',
    "Run 'mybuild COMMAND --help' for more information on a command.",
    '',
  ].join('\n');
}

function suggestCommand(name: string): string | undefined {
  const best = closest(name, [...Object.keys(COMMANDS), ...Object.keys(GROUPS)], () => 2);
  return best ? `did you mean "${best}"?` : undefined;
}

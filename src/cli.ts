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
    if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
      ctx.stdout.write(usage());
      return name === undefined ? 2 : 0;
    }
    if (name === '--version' || name === '-v') name = 'version';
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
  const names = Object.keys(COMMANDS).sort();
  const width = Math.max(...names.map((n) => n.length));
  return [
    'Usage: mybuild [--root DIR] [-H HOST] COMMAND [ARGS…]',
    '       mybuild [build options] PATH     (same as "mybuild build …")',
    '',
    'Commands:',
    ...names.map((n) => `  ${n.padEnd(width)}  ${COMMANDS[n].summary}`),
    '',
    'Global options:',
    '  --root DIR     store directory (default /var/lib/mybuild as root, $XDG_DATA_HOME/mybuild otherwise; MYBUILD_ROOT)',
    '  -H, --host     daemon address (unix:///path.sock or tcp://host:port; MYBUILD_HOST)',
    '  --tls          use TLS with a TCP daemon (DOCKER_TLS); implied by --tlsverify',
    '  --tlsverify    use TLS and verify the daemon (DOCKER_TLS_VERIFY); with --tlscacert FILE, --tlscert FILE,',
    '                 --tlskey FILE (default ca.pem, cert.pem, key.pem in DOCKER_CERT_PATH or ~/.docker)',
    '  -D, --debug    print stack traces of internal errors',
    '',
  ].join('\n');
}

function suggestCommand(name: string): string | undefined {
  const best = closest(name, Object.keys(COMMANDS), () => 2);
  return best ? `did you mean "${best}"?` : undefined;
}

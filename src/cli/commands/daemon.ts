/**
 * `mybuild daemon [-H ADDR]… [--tls] [--tlsverify --tlscacert F --tlscert F --tlskey F]
 * [--insecure-tcp]`: serves the Docker-Engine-compatible API (src/daemon) until SIGTERM or
 * SIGINT. Default address: a unix socket (see defaultSocketPath), mode 0660.
 */
import { parseCommandArgs } from '../args.js';
import { UsageError } from '../../errors.js';
import type { CommandMain } from '../context.js';
import { HELP_FLAG, printHelp, type CommandHelp, type Flags } from '../help.js';

export const FLAGS = {
  host: { type: 'string', short: 'H', multiple: true, description: 'unix:///path.sock or tcp://ADDR:PORT to listen on (repeatable; default the unix socket)' },
  'insecure-tcp': { type: 'boolean', description: 'Allow a non-loopback TCP listener without --tlsverify (DANGEROUS)' },
  runtime: { type: 'string', description: 'OCI runtime (default runc)' },
  tls: { type: 'boolean', description: 'Serve TLS on TCP listeners (with --tlscert, --tlskey)' },
  tlscacert: { type: 'string', arg: 'file', description: 'CA for client certificates' },
  tlscert: { type: 'string', arg: 'file', description: 'Server certificate' },
  tlskey: { type: 'string', arg: 'file', description: 'Server key' },
  tlsverify: { type: 'boolean', description: 'Serve TLS and require client certificates signed by --tlscacert' },
  help: HELP_FLAG,
} as const satisfies Flags;

export const HELP: CommandHelp = {
  name: 'mybuild daemon',
  usage: '[OPTIONS]',
  summary: 'Serve the Docker Engine API subset (docker CLI: DOCKER_HOST=unix:///path.sock)',
  flags: FLAGS,
};

export const main: CommandMain = async (args, ctx) => {
  const parsed = parseCommandArgs('daemon', {
    args,
    options: FLAGS,
    allowPositionals: false,
    strict: true,
  });
  const v = parsed.values;
  if (v.help) return printHelp(ctx, HELP);
  const { startDaemon } = await import('../../daemon/server.js');
  const { defaultSocketPath } = await import('../../daemon/listen.js');
  // The global -H (ctx.host) is the client's address; `daemon -H` is where to listen. Accept both.
  const hosts = v.host?.length ? v.host : ctx.host ? [ctx.host] : [`unix://${defaultSocketPath(ctx.env)}`];
  const wantTls = v.tls || v.tlsverify;
  if (wantTls && (!v.tlscert || !v.tlskey)) throw new UsageError('--tls/--tlsverify need --tlscert and --tlskey');
  const log = (l: string): void => void ctx.stderr.write(`${l}\n`);
  const d = await startDaemon({
    root: ctx.root,
    hosts,
    ...(wantTls ? { tls: { verify: v.tlsverify === true, cert: v.tlscert!, key: v.tlskey!, ...(v.tlscacert ? { cacert: v.tlscacert } : {}) } } : {}),
    insecureTcp: v['insecure-tcp'] === true,
    handleSignals: true,
    log,
    ...(v.runtime ? { runtime: v.runtime } : {}),
  });
  log(`mybuild daemon listening on ${hosts.join(', ')} (root ${ctx.root})`);
  await d.closed;
  log('mybuild daemon stopped');
  return 0;
};

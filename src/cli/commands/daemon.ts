/**
 * `mybuild daemon [-H ADDR]… [--tls] [--tlsverify --tlscacert F --tlscert F --tlskey F]
 * [--insecure-tcp]`: serves the Docker-Engine-compatible API (src/daemon) until SIGTERM or
 * SIGINT. Default address: a unix socket (see defaultSocketPath), mode 0660.
 */
import { parseCommandArgs } from '../args.js';
import { UsageError } from '../../errors.js';
import type { CommandMain } from '../context.js';

const USAGE = `Usage: mybuild daemon [OPTIONS]

Serve the Docker Engine API subset (docker CLI: DOCKER_HOST=unix:///path.sock)

Options:
  -H, --host list       unix:///path.sock or tcp://ADDR:PORT (repeatable; default unix socket)
      --tls             serve TLS on TCP listeners (--tlscert, --tlskey)
      --tlsverify       serve TLS and require client certificates signed by --tlscacert
      --tlscacert file  CA for client certificates
      --tlscert file    server certificate
      --tlskey file     server key
      --insecure-tcp    allow a non-loopback TCP listener without --tlsverify (DANGEROUS)
      --runtime string  OCI runtime (default runc)
`;

export const main: CommandMain = async (args, ctx) => {
  const parsed = parseCommandArgs('daemon', {
    args,
    options: {
      host: { type: 'string', short: 'H', multiple: true },
      tls: { type: 'boolean' },
      tlsverify: { type: 'boolean' },
      tlscacert: { type: 'string' },
      tlscert: { type: 'string' },
      tlskey: { type: 'string' },
      'insecure-tcp': { type: 'boolean' },
      runtime: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: false,
    strict: true,
  });
  const v = parsed.values;
  if (v.help) {
    ctx.stdout.write(USAGE);
    return 0;
  }
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

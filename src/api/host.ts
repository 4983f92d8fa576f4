/**
 * Daemon addresses as `-H`/MYBUILD_HOST and `mybuild daemon -H` write them: one parser shared by
 * the client (where to connect) and the daemon (where to listen).
 */
import { UsageError } from '../errors.js';

export type HostAddress = { kind: 'unix'; path: string } | { kind: 'tcp'; host: string; port: number };

/**
 * Parses `unix:///p.sock`, `tcp://host:port`, `host:port` (tcp) or an absolute path (unix).
 * Throws UsageError for anything else. TCP needs a port (Docker's 2375/2376 are not assumed).
 */
export function parseHost(s: string): HostAddress {
  if (s.startsWith('unix://')) {
    const p = s.slice('unix://'.length);
    if (!p.startsWith('/')) throw new UsageError(`invalid host "${s}": the socket path must be absolute`, { hint: 'e.g. unix:///run/mybuild/mybuild.sock' });
    return { kind: 'unix', path: p };
  }
  if (s.startsWith('/')) return { kind: 'unix', path: s };
  const rest = s.startsWith('tcp://') ? s.slice('tcp://'.length) : /^[^/]+:\d+$/.test(s) ? s : undefined;
  if (rest === undefined) throw new UsageError(`invalid host "${s}": expected unix:///path.sock or tcp://ADDR:PORT`);
  const m = /^(\[[^\]]+\]|[^:/]*):(\d+)\/?$/.exec(rest);
  if (!m) throw new UsageError(`invalid host "${s}": expected tcp://ADDR:PORT`, { hint: 'e.g. tcp://127.0.0.1:2375' });
  const port = Number(m[2]);
  if (port > 65535) throw new UsageError(`invalid host "${s}": port ${port} is out of range`);
  const host = m[1].replace(/^\[|\]$/g, '') || '0.0.0.0';
  return { kind: 'tcp', host, port };
}

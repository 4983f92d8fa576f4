/**
 * The client's TLS, decided as the docker CLI decides it (cli/flags: `--tls`, `--tlsverify`,
 * `--tlscacert`, `--tlscert`, `--tlskey`, DOCKER_TLS, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH; the
 * MYBUILD_ names of the three variables win over the DOCKER_ ones):
 *
 * - TLS is on with `--tls`, `--tlsverify` (given at all, even `=false`), DOCKER_TLS or
 *   DOCKER_TLS_VERIFY (non-empty); DOCKER_CERT_PATH alone only says where the files are;
 * - `--tlsverify` (or DOCKER_TLS_VERIFY) checks the daemon's certificate against the CA
 *   (`--tlscacert`, else `ca.pem` of the cert directory, else the system's roots); plain `--tls`
 *   does not verify the daemon;
 * - the client certificate and key are `--tlscert`/`--tlskey`, else `cert.pem`/`key.pem` of the
 *   cert directory (DOCKER_CERT_PATH, else $DOCKER_CONFIG or ~/.docker) when they exist.
 *
 * A file given by flag that cannot be read is a UsageError naming the flag.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.js';

/** The client's TLS flags, as given on the command line (undefined: not given). */
export interface ClientTlsFlags {
  tls?: boolean;
  tlsverify?: boolean;
  tlscacert?: string;
  tlscert?: string;
  tlskey?: string;
}

/** What the client connects with. */
export interface ClientTls {
  /** Check the daemon's certificate. */
  verify: boolean;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

/** The TLS the client uses for a TCP daemon, or undefined for plain HTTP. */
export function clientTls(flags: ClientTlsFlags = {}, env: NodeJS.ProcessEnv = process.env): ClientTls | undefined {
  const verify = flags.tlsverify ?? !!(env.MYBUILD_TLS_VERIFY || env.DOCKER_TLS_VERIFY);
  const on = verify || flags.tlsverify !== undefined || (flags.tls ?? !!(env.MYBUILD_TLS || env.DOCKER_TLS));
  if (!on) return undefined;
  const dir = env.MYBUILD_CERT_PATH || env.DOCKER_CERT_PATH || env.DOCKER_CONFIG || path.join(env.HOME ?? '', '.docker');
  const file = (flag: keyof ClientTlsFlags, def: string): Buffer | undefined => {
    const given = flags[flag] as string | undefined;
    if (given !== undefined) {
      try {
        return readFileSync(given);
      } catch (err) {
        throw new UsageError(`--${flag} ${given}: ${(err as Error).message}`);
      }
    }
    try {
      return readFileSync(path.join(dir, def));
    } catch {
      return undefined;
    }
  };
  const tls: ClientTls = { verify, ca: file('tlscacert', 'ca.pem'), cert: file('tlscert', 'cert.pem'), key: file('tlskey', 'key.pem') };
  if (!tls.cert !== !tls.key) throw new UsageError('the client certificate and key go together: give both --tlscert and --tlskey (or cert.pem and key.pem in DOCKER_CERT_PATH)');
  return tls;
}

/** Parses a global TLS flag at `argv[i]` into `flags`; returns how many arguments it took (0: not one). */
export function takeTlsFlag(argv: string[], i: number, flags: ClientTlsFlags): number {
  const a = argv[i];
  const m = /^--(tls|tlsverify|tlscacert|tlscert|tlskey)(?:=(.*))?$/.exec(a);
  if (!m) return 0;
  const name = m[1] as keyof ClientTlsFlags;
  if (name === 'tls' || name === 'tlsverify') {
    const v = m[2];
    if (v !== undefined && v !== 'true' && v !== 'false') throw new UsageError(`invalid boolean value "${v}" for --${name}`);
    flags[name] = v !== 'false';
    return 1;
  }
  if (m[2] !== undefined) {
    flags[name] = m[2];
    return 1;
  }
  const v = argv[i + 1];
  if (v === undefined) throw new UsageError(`flag needs an argument: --${name}`);
  flags[name] = v;
  return 2;
}

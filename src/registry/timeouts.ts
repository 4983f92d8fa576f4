/**
 * Timeouts of registry requests, by phase, so that a registry that accepts a connection and then
 * says nothing fails the call instead of hanging it:
 *
 * | phase | default | env (ms) | what it bounds |
 * | --- | --- | --- | --- |
 * | connect | 30 s (Docker's dialer) | MYBUILD_REGISTRY_CONNECT_TIMEOUT_MS | the TCP connection |
 * | tls | 10 s (Docker's TLSHandshakeTimeout) | MYBUILD_REGISTRY_TLS_TIMEOUT_MS | the TLS handshake |
 * | response / body | 60 s | MYBUILD_REGISTRY_TIMEOUT_MS | silence on the socket: no response headers, or a body that stops |
 *
 * The last one is an idle timeout (no byte either way for that long), so a big upload or a slow
 * download that keeps moving never trips it. `watchRequest` arms them on a node:http request and
 * reports a RequestTimeout naming the phase; the transport turns it into a RegistryError that
 * names the registry and the request.
 */
import type http from 'node:http';
import type { Socket } from 'node:net';
import { BuildError } from '../errors.js';

export interface RegistryTimeouts {
  connectMs: number;
  tlsHandshakeMs: number;
  /** Silence while waiting for the response headers, or while reading the body. */
  idleMs: number;
}

export const DEFAULT_TIMEOUTS: RegistryTimeouts = { connectMs: 30_000, tlsHandshakeMs: 10_000, idleMs: 60_000 };

export const TIMEOUT_ENV: Record<keyof RegistryTimeouts, string> = {
  connectMs: 'MYBUILD_REGISTRY_CONNECT_TIMEOUT_MS',
  tlsHandshakeMs: 'MYBUILD_REGISTRY_TLS_TIMEOUT_MS',
  idleMs: 'MYBUILD_REGISTRY_TIMEOUT_MS',
};

/** The timeouts: `given` where set, else the environment's, else the defaults. Throws for a bad env value. */
export function resolveTimeouts(given: Partial<RegistryTimeouts>, env: NodeJS.ProcessEnv): RegistryTimeouts {
  const out = { ...DEFAULT_TIMEOUTS };
  for (const k of Object.keys(out) as (keyof RegistryTimeouts)[]) {
    const v = given[k] ?? envValue(env, TIMEOUT_ENV[k]);
    if (v !== undefined) out[k] = v;
  }
  return out;
}

function envValue(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const s = env[name];
  if (s === undefined || s === '') return undefined;
  if (!/^\d+$/.test(s) || Number(s) <= 0) throw new BuildError('INVALID_ARGUMENT', `${name} must be a positive number of milliseconds, got "${s}"`);
  return Number(s);
}

export type TimeoutPhase = 'connect' | 'tls' | 'response' | 'body';

/** A request that timed out in `phase` (code ETIMEDOUT, as the socket errors the retry logic knows). */
export class RequestTimeout extends Error {
  readonly code = 'ETIMEDOUT';
  constructor(
    readonly phase: TimeoutPhase,
    readonly ms: number,
  ) {
    super(`${phase} timeout after ${ms} ms`);
  }

  /** True when nothing of the request reached the server: any method may be retried. */
  get beforeSending(): boolean {
    return this.phase === 'connect' || this.phase === 'tls';
  }
}

/**
 * Arms the timeouts on `req` (before it is sent). `onTimeout` is called once, with the phase;
 * the caller destroys the request (and the response, once there is one). Timers are cleared
 * when the request or its response ends.
 */
export function watchRequest(req: http.ClientRequest, tls: boolean, t: RegistryTimeouts, onTimeout: (e: RequestTimeout) => void): void {
  let timer: NodeJS.Timeout | undefined;
  let fired = false;
  let hasResponse = false;
  const fire = (e: RequestTimeout): void => {
    if (fired) return;
    fired = true;
    onTimeout(e);
  };
  const arm = (phase: TimeoutPhase, ms: number): void => {
    clearTimeout(timer);
    timer = setTimeout(() => fire(new RequestTimeout(phase, ms)), ms);
    timer.unref?.();
  };
  const idle = (sock: Socket): void => {
    clearTimeout(timer);
    sock.setTimeout(t.idleMs);
  };
  req.on('socket', (sock: Socket) => {
    const onIdle = (): void => fire(new RequestTimeout(hasResponse ? 'body' : 'response', t.idleMs));
    sock.on('timeout', onIdle);
    const release = (): void => {
      clearTimeout(timer);
      sock.setTimeout(0);
      sock.off('timeout', onIdle);
    };
    req.once('close', release);
    if (sock.connecting) {
      arm('connect', t.connectMs);
      sock.once('connect', () => {
        if (tls) arm('tls', t.tlsHandshakeMs);
        else idle(sock);
      });
      if (tls) sock.once('secureConnect', () => idle(sock));
    } else {
      // A kept-alive socket: connected (and secured) already.
      idle(sock);
    }
  });
  req.on('response', (res: http.IncomingMessage) => {
    hasResponse = true;
    res.once('close', () => clearTimeout(timer));
  });
}

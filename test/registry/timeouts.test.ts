/**
 * Registry timeouts (src/registry/timeouts.ts): against servers on 127.0.0.1 that accept and
 * then fall silent — in the TCP connect (a full backlog), in the TLS handshake, before the
 * response headers, inside a body — a pull fails within the configured time (environment
 * variables, milliseconds) with an error naming the registry and what timed out; timeouts are
 * retried once where that is safe.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pull } from '../../src/registry/pull.js';
import { makeStore } from '../helpers/registry.js';
import { runCli } from '../helpers/cli.js';

const MS = 400;
const env = { MYBUILD_REGISTRY_CONNECT_TIMEOUT_MS: String(MS), MYBUILD_REGISTRY_TLS_TIMEOUT_MS: String(MS), MYBUILD_REGISTRY_TIMEOUT_MS: String(MS) };

/**
 * A TCP server on 127.0.0.1. `onRequest(head, socket)` gets each plain-HTTP request head; a TLS
 * ClientHello gets what `tls` says: 'silent' (never answer: the handshake hangs) or 'plain'
 * (answer as a plain-http server does, "400", and close: the client falls back to http).
 */
async function silentServer(tls: 'silent' | 'plain', onRequest: (head: string, sock: net.Socket) => void = () => {}): Promise<{ port: number; requests: string[]; close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const requests: string[] = [];
  const server = net.createServer((sock) => {
    sockets.add(sock);
    sock.on('error', () => {});
    sock.on('close', () => sockets.delete(sock));
    let buf = '';
    sock.on('data', (d: Buffer) => {
      if (d[0] === 0x16) {
        if (tls === 'plain') sock.end('HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n');
        return;
      }
      buf += d.toString('latin1');
      let end;
      while ((end = buf.indexOf('\r\n\r\n')) >= 0) {
        const head = buf.slice(0, end);
        buf = buf.slice(end + 4);
        requests.push(head.split('\r\n')[0]);
        onRequest(head, sock);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    requests,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** Runs `p`, returns its error and how long it took. */
async function timed(p: Promise<unknown>): Promise<{ err: Error; ms: number }> {
  const t0 = Date.now();
  try {
    await p;
  } catch (err) {
    return { err: err as Error, ms: Date.now() - t0 };
  }
  throw new Error('expected a failure');
}

describe('registry timeouts', { timeout: 30_000 }, () => {
  let tmp: string;
  before(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'mybuild-timeouts-'));
  });
  after(() => rm(tmp, { recursive: true, force: true }));

  it('a server that accepts and never answers: the TLS handshake times out (mybuild pull, exit 5)', async (t) => {
    const srv = await silentServer('silent');
    t.after(srv.close);
    const t0 = Date.now();
    const r = await runCli(['--root', path.join(tmp, 'cli-root'), 'pull', `127.0.0.1:${srv.port}/app:1`], { env });
    assert.ok(Date.now() - t0 < 5 * MS, `took ${Date.now() - t0} ms`);
    assert.equal(r.code, 5, r.err);
    assert.match(r.err, new RegExp(`^error: pull 127\\.0\\.0\\.1:${srv.port}/app:1: registry 127\\.0\\.0\\.1:${srv.port} \\(https://127\\.0\\.0\\.1:${srv.port}\\): TLS handshake timed out after ${MS} ms`));
    assert.match(r.err, /hint: .*MYBUILD_REGISTRY_TLS_TIMEOUT_MS/);
  });

  it('a plain-http server that never sends the response headers: retried once (GET), then a clear error', async (t) => {
    const srv = await silentServer('plain');
    t.after(srv.close);
    const store = await makeStore(path.join(tmp, 'headers'));
    const { err, ms } = await timed(pull(`127.0.0.1:${srv.port}/app:1`, store, undefined, { clientOptions: { env } }));
    assert.match(err.message, new RegExp(`registry 127\\.0\\.0\\.1:${srv.port} \\(http://127\\.0\\.0\\.1:${srv.port}\\) did not answer GET /v2/ within ${MS} ms`));
    assert.deepEqual(srv.requests, ['GET /v2/ HTTP/1.1', 'GET /v2/ HTTP/1.1'], 'one retry');
    assert.ok(ms >= 2 * MS && ms < 6 * MS, `took ${ms} ms`);
  });

  it('a body that stops after the headers fails its reader (it hung before)', async (t) => {
    const srv = await silentServer('plain', (head, sock) => {
      if (head.startsWith('GET /v2/ ')) sock.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: application/json\r\n\r\n{}');
      else sock.write('HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nContent-Type: application/vnd.oci.image.manifest.v1+json\r\n\r\n{"schemaVersion":');
    });
    t.after(srv.close);
    const store = await makeStore(path.join(tmp, 'body'));
    const { err, ms } = await timed(pull(`127.0.0.1:${srv.port}/app:1`, store, undefined, { clientOptions: { env } }));
    assert.match(err.message, new RegExp(`registry 127\\.0\\.0\\.1:${srv.port} \\(http://127\\.0\\.0\\.1:${srv.port}\\) stopped sending the answer to GET /v2/app/manifests/1: no data for ${MS} ms`));
    assert.ok(ms < 6 * MS, `took ${ms} ms`);
  });

  it('a connection that is never accepted (full backlog): the connect times out', async (t) => {
    // A listener with backlog 0 whose queue is already full: the kernel drops further SYNs.
    const py = spawn('python3', ['-c', `
import socket, time
s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(0)
port = s.getsockname()[1]
fill = []
for i in range(4):
    c = socket.socket(); c.setblocking(False)
    try: c.connect(('127.0.0.1', port))
    except BlockingIOError: pass
    fill.append(c)
print(port, flush=True)
time.sleep(60)
`], { stdio: ['ignore', 'pipe', 'inherit'] }) as ChildProcess;
    t.after(() => py.kill());
    const port = await new Promise<number>((resolve, reject) => {
      py.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
      py.once('error', reject);
    });
    const store = await makeStore(path.join(tmp, 'connect'));
    const { err, ms } = await timed(pull(`127.0.0.1:${port}/app:1`, store, undefined, { clientOptions: { env } }));
    assert.match(err.message, new RegExp(`cannot reach registry 127\\.0\\.0\\.1:${port} \\(https://127\\.0\\.0\\.1:${port}\\): connection timed out after ${MS} ms`));
    assert.ok(ms < 5 * MS, `took ${ms} ms`);
  });

  it('a bad timeout value in the environment is refused, naming the variable', async () => {
    const store = await makeStore(path.join(tmp, 'bad-env'));
    await assert.rejects(pull('127.0.0.1:1/app:1', store, undefined, { clientOptions: { env: { MYBUILD_REGISTRY_TIMEOUT_MS: '10s' } } }), /MYBUILD_REGISTRY_TIMEOUT_MS must be a positive number of milliseconds, got "10s"/);
  });
});

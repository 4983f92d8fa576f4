/**
 * Daemon security: socket mode 0660 and no access for another user; TCP refusal rules; TLS
 * without a valid client certificate refused; a context tar cannot write outside its
 * directory; header and body size limits (431/413); a second daemon on the same socket.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { existsSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { parseHost } from '../../src/api/host.js';
import { checkTcpSecurity, isLoopbackHost } from '../../src/daemon/listen.js';
import { startDaemon } from '../../src/daemon/server.js';
import { MAX_JSON_BODY_BYTES } from '../../src/daemon/http.js';
import { makeTestCA } from '../helpers/registry.js';
import { runCmd, startTestDaemon, tarOf, type TestDaemon } from './helpers.js';

function request(socketPath: string, method: string, p: string, opts: { headers?: Record<string, string>; body?: Buffer } = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath, method, path: p, headers: opts.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}


describe('daemon security', { concurrency: false }, () => {
  let d: TestDaemon;
  before(async () => {
    d = await startTestDaemon({ maxContextBytes: 64 * 1024 });
  });
  after(async () => {
    await d?.stop();
  });

  it('the socket has mode 0660', () => {
    assert.equal(statSync(d.socket).mode & 0o777, 0o660);
  });

  it('another user (uid 65534) cannot connect', { skip: process.getuid?.() !== 0 ? 'needs root to switch users' : !existsSync('/usr/bin/setpriv') ? 'setpriv is absent' : false }, async () => {
    // The temp dir is 0700; let the other user reach the socket itself so only its mode decides.
    await runCmd('chmod', ['0755', d.dir]);
    const script = `const s=require('net').connect(${JSON.stringify(d.socket)});s.on('connect',()=>{console.log('CONNECTED');process.exit(0)});s.on('error',e=>{console.log(e.code);process.exit(1)})`;
    const r = await runCmd('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '-e', script]);
    assert.equal(r.stdout.trim(), 'EACCES', r.stderr);
    assert.notEqual(r.code, 0);
    const root = await request(d.socket, 'GET', '/_ping');
    assert.equal(root.status, 200);
  });

  it('a second daemon refuses the socket another daemon listens on; a stale socket file is replaced', async () => {
    await assert.rejects(startDaemon({ root: d.root, hosts: [d.host], log: () => undefined }), /another daemon is listening/);
    const stale = path.join(d.dir, 'stale.sock');
    // A crashed daemon: the socket file stays, nothing listens.
    await runCmd(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(stale)}, () => process.kill(process.pid, 'SIGKILL'))`]);
    assert.ok(existsSync(stale));
    const d2 = await startDaemon({ root: d.root, hosts: [`unix://${stale}`], log: () => undefined });
    assert.equal((await request(stale, 'GET', '/_ping')).status, 200);
    await d2.close();
  });

  it('TCP: loopback is allowed, a non-loopback address needs --tlsverify or --insecure-tcp', async () => {
    assert.equal(isLoopbackHost('127.0.0.1'), true);
    assert.equal(isLoopbackHost('::1'), true);
    assert.equal(isLoopbackHost('0.0.0.0'), false);
    assert.match(checkTcpSecurity({ host: '127.0.0.1', port: 1 }, undefined, false).join('\n'), /Binding to IP address without --tlsverify is insecure.*host="tcp:\/\/127\.0\.0\.1:1"/);
    assert.deepEqual(checkTcpSecurity({ host: '127.0.0.1', port: 1 }, { verify: true, cert: 'c', key: 'k', cacert: 'a' }, false), []);
    assert.throws(() => checkTcpSecurity({ host: '0.0.0.0', port: 2375 }, undefined, false), /refusing to listen on tcp:\/\/0\.0\.0\.0:2375/);
    assert.throws(() => checkTcpSecurity({ host: '10.1.2.3', port: 2375 }, { verify: false, cert: 'c', key: 'k' }, false), /client certificate verification/);
    assert.deepEqual(checkTcpSecurity({ host: '10.1.2.3', port: 2376 }, { verify: true, cert: 'c', key: 'k', cacert: 'a' }, false), []);
    assert.match(checkTcpSecurity({ host: '0.0.0.0', port: 2375 }, undefined, true).join('\n'), /WARNING: .*without TLS.*--insecure-tcp/);
    assert.deepEqual(parseHost('tcp://0.0.0.0:2375'), { kind: 'tcp', host: '0.0.0.0', port: 2375 });
    // A real non-loopback address of this machine, when there is one: startDaemon refuses before binding.
    const addr = Object.values(os.networkInterfaces()).flat().find((i) => i && i.family === 'IPv4' && !i.internal)?.address ?? '0.0.0.0';
    const logs: string[] = [];
    await assert.rejects(startDaemon({ root: d.root, hosts: [`tcp://${addr}:0`], log: (l) => logs.push(l) }), /refusing to listen/);
    const insecure = await startDaemon({ root: d.root, hosts: [`tcp://${addr}:0`], insecureTcp: true, log: (l) => logs.push(l) });
    assert.ok(logs.some((l) => /WARNING/.test(l)));
    await insecure.close();
  });

  it('TLS with --tlsverify refuses clients without a valid certificate', async () => {
    const { mkdir } = await import('node:fs/promises');
    await mkdir(path.join(d.dir, 'ca'));
    await mkdir(path.join(d.dir, 'other-ca'));
    const ca = await makeTestCA(path.join(d.dir, 'ca'));
    const port = await new Promise<number>((r) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => r(p));
      });
    });
    const td = await startDaemon({ root: d.root, hosts: [`tcp://127.0.0.1:${port}`], tls: { verify: true, cacert: ca.caCert, cert: ca.serverCert, key: ca.serverKey }, log: () => undefined });
    try {
      const get = (opts: https.RequestOptions) =>
        new Promise<number>((resolve, reject) => {
          const req = https.request({ host: '127.0.0.1', port, path: '/_ping', servername: 'localhost', ...opts }, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          });
          req.on('error', reject);
          req.end();
        });
      const { readFile } = await import('node:fs/promises');
      const caPem = await readFile(ca.caCert);
      await assert.rejects(get({ ca: caPem, checkServerIdentity: () => undefined }), /certificate|alert|socket hang up|ECONNRESET/i);
      // A certificate from another CA is refused as well.
      const other = await makeTestCA(path.join(d.dir, 'other-ca'));
      await assert.rejects(get({ ca: caPem, cert: await readFile(other.clientCert), key: await readFile(other.clientKey), checkServerIdentity: () => undefined }), /certificate|alert|socket hang up|ECONNRESET/i);
      const ok = await get({ ca: caPem, cert: await readFile(ca.clientCert), key: await readFile(ca.clientKey), checkServerIdentity: () => undefined });
      assert.equal(ok, 200);
    } finally {
      await td.close();
    }
  });

  it('a build context with ".." entries or absolute links cannot write outside its directory', async () => {
    const marker = path.join(d.dir, 'escaped');
    for (const entries of [
      [{ name: '../escaped', data: 'x' }],
      [{ name: `../../../../../../..${marker}`, data: 'x' }],
      [{ name: 'link', type: 'symlink' as const, linkname: d.dir }, { name: 'link/escaped', data: 'x' }],
      [{ name: 'hard', type: 'link' as const, linkname: '/etc/passwd' }],
    ]) {
      const body = await tarOf([{ name: 'Dockerfile', data: 'FROM scratch\n' }, ...entries]);
      const r = await request(d.socket, 'POST', '/v1.45/build', { body, headers: { 'Content-Type': 'application/x-tar' } });
      assert.equal(r.status, 400, r.body);
      assert.match(JSON.parse(r.body).message, /refusing build context tar entry/);
      assert.equal(existsSync(marker), false);
    }
  });

  it('oversized headers get 431, oversized JSON bodies and contexts 413', async () => {
    const big = await request(d.socket, 'GET', '/_ping', { headers: { 'X-Big': 'a'.repeat(64 * 1024) } }).catch((e: Error) => ({ status: -1, body: e.message }));
    assert.equal(big.status, 431);
    const body = Buffer.alloc(MAX_JSON_BODY_BYTES + 10, 0x20);
    const r = await request(d.socket, 'POST', '/containers/create', { body, headers: { 'Content-Type': 'application/json' } });
    assert.equal(r.status, 413, r.body);
    const ctx = await tarOf([{ name: 'Dockerfile', data: 'FROM scratch\n' }, { name: 'big', data: 'x'.repeat(200 * 1024) }]);
    const b = await request(d.socket, 'POST', '/build', { body: ctx });
    assert.equal(b.status, 413, b.body);
  });

  it('errors and unknown endpoints are answered as Docker does', async () => {
    const nf = await request(d.socket, 'GET', '/v1.45/nope');
    assert.equal(nf.status, 404);
    assert.match(JSON.parse(nf.body).message, /page not found: GET \/v1\.45\/nope/);
    const img = await request(d.socket, 'GET', '/images/nosuch:1/json');
    assert.equal(img.status, 404);
    assert.match(JSON.parse(img.body).message, /No such image/i);
    const tooNew = await request(d.socket, 'GET', '/v1.99/version');
    assert.equal(tooNew.status, 400);
    const head = await request(d.socket, 'HEAD', '/_ping');
    assert.equal(head.status, 200);
    await writeFile(path.join(d.dir, 'x'), '');
  });
});

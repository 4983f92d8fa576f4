/**
 * ADD <url> against servers that misbehave (issue 22): one that accepts the request and never
 * answers, one that sends half a body and stalls, and one that promises 1024 bytes and closes
 * after 512. Before, the first two waited until the server gave up and the third ended in exit
 * 70 with a stack; now each is one clear CONTEXT error naming the URL, a non-zero exit that is not 70, within
 * the idle timeout (MYBUILD_HTTP_TIMEOUT_MS). A server on 127.0.0.1; `mybuild build` as a process.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildSkipReason, cleanupTemp, cliSkipReason, makeStoreRoot, runCliProcess, writeContext } from '../helpers/build.js';

const skip = buildSkipReason() || cliSkipReason();
const IDLE_MS = 800;

describe('builder: ADD of a URL whose server misbehaves', { skip }, () => {
  let root: string;
  let server: http.Server;
  const held: http.ServerResponse[] = [];
  before(async () => {
    root = await makeStoreRoot();
    server = http.createServer((req, res) => {
      if (req.url === '/silent') {
        held.push(res);
        return;
      }
      if (req.url === '/stall') {
        res.writeHead(200, { 'content-length': '1024' });
        res.write(Buffer.alloc(512, 1));
        held.push(res);
        return;
      }
      if (req.url === '/truncated') {
        res.writeHead(200, { 'content-length': '1024' });
        res.write(Buffer.alloc(512, 1));
        setTimeout(() => res.socket?.destroy(), 50);
        return;
      }
      res.end('ok\n');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  });
  after(async () => {
    for (const r of held) r.socket?.destroy();
    server?.closeAllConnections();
    await new Promise((r) => server?.close(r));
    await cleanupTemp();
  });

  const url = (p: string) => `http://127.0.0.1:${(server.address() as AddressInfo).port}/${p}`;

  async function add(p: string): Promise<{ code: number | null; stderr: string; ms: number }> {
    const ctx = await writeContext({ Dockerfile: `FROM scratch\nADD ${url(p)} /f\n` });
    const t0 = Date.now();
    const r = await runCliProcess(['--root', root, 'build', '--progress', 'plain', '--no-cache', ctx], { cwd: ctx, env: { MYBUILD_HTTP_TIMEOUT_MS: String(IDLE_MS) } });
    return { code: r.code, stderr: r.stderr, ms: Date.now() - t0 };
  }

  function assertClear(r: { code: number | null; stderr: string }, message: RegExp): void {
    assert.notEqual(r.code, 0, r.stderr);
    assert.notEqual(r.code, 70, r.stderr);
    assert.match(r.stderr, message);
    assert.match(r.stderr, /Dockerfile:2/);
    assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace');
  }

  it('a server that never answers: the ADD times out, naming the URL and the timeout', async () => {
    const r = await add('silent');
    assertClear(r, /ADD http:\/\/127\.0\.0\.1:\d+\/silent: 127\.0\.0\.1:\d+ did not answer: no data for 800 ms \(MYBUILD_HTTP_TIMEOUT_MS sets this timeout\)/);
    assert.ok(r.ms < 20_000, `took ${r.ms} ms`);
  });

  it('a body that stalls: the download fails after the bytes it got', async () => {
    const r = await add('stall');
    assertClear(r, /ADD http:\/\/127\.0\.0\.1:\d+\/stall: the download failed: 127\.0\.0\.1:\d+ stopped sending the body: no data for 800 ms .*, after 512 bytes/);
    assert.ok(r.ms < 20_000, `took ${r.ms} ms`);
  });

  it('a truncated body: a clear error, not exit 70', async () => {
    const r = await add('truncated');
    assertClear(r, /ADD http:\/\/127\.0\.0\.1:\d+\/truncated: the download failed: the server closed the connection after 512 of 1024 bytes \(a truncated download\)/);
  });

  it('a server that behaves: the file is added', async () => {
    const r = await add('fine');
    assert.equal(r.code, 0, r.stderr);
  });
});

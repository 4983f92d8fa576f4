/**
 * The embedded DNS agent (src/runtime/dns-agent.ts), run in this process on 127.0.0.1 with a
 * free port and asked by Node's own resolver: per-source views, A/AAAA/PTR answers, names it
 * does not know going to its upstreams (none here: SERVFAIL), TCP as well as UDP, and its
 * program text running under `node -e` as the daemon starts it.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { Resolver } from 'node:dns/promises';
import net from 'node:net';
import readline from 'node:readline';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { dnsAgentMain, dnsAgentScript } from '../../src/runtime/dns-agent.js';

async function freePort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const port = s.address().port;
  s.close();
  return port;
}

function lines(stream: PassThrough): () => Promise<string> {
  const rl = readline.createInterface({ input: stream });
  const it = rl[Symbol.asyncIterator]();
  return async () => String((await it.next()).value);
}

describe('embedded DNS agent', () => {
  const input = new PassThrough();
  const output = new PassThrough();
  const next = lines(output);
  let port = 0;
  let exited = false;
  const resolver = new Resolver({ timeout: 3000, tries: 1 });

  before(async () => {
    port = await freePort();
    dnsAgentMain(dgram, net, readline, port, { input, output, exit: () => (exited = true) });
    assert.equal(await next(), '{"ok":"ready"}');
    input.write(`${JSON.stringify({ listen: ['127.0.0.1'], upstream: [] })}\n`);
    assert.equal(await next(), '{"ok":"listen"}');
    input.write(`${JSON.stringify({ views: { '127.0.0.1': { web: { v4: ['172.18.0.2'], v6: ['2001:db8::2'] }, 'web.proj_default': { v4: ['172.18.0.2'], v6: [] } } }, ptr: { '172.18.0.2': 'web.proj_default' } })}\n`);
    assert.equal(await next(), '{"ok":"views"}');
    resolver.setServers([`127.0.0.1:${port}`]);
  });
  after(() => input.end());

  it('answers A and AAAA of the names in the asker\'s view, case-insensitively', async () => {
    assert.deepEqual(await resolver.resolve4('web'), ['172.18.0.2']);
    assert.deepEqual(await resolver.resolve4('WEB.proj_default'), ['172.18.0.2']);
    assert.deepEqual(await resolver.resolve6('web'), ['2001:db8::2']);
    await assert.rejects(resolver.resolve6('web.proj_default'), (e: NodeJS.ErrnoException) => e.code === 'ENODATA');
  });

  it('answers PTR of the addresses it knows', async () => {
    assert.deepEqual(await resolver.reverse('172.18.0.2'), ['web.proj_default']);
  });

  it('answers SERVFAIL for other names when it has no upstream (an internal network)', async () => {
    await assert.rejects(resolver.resolve4('deb.debian.org'), (e: NodeJS.ErrnoException) => e.code === 'ESERVFAIL');
  });

  it('answers over TCP too (two-byte length framing)', async () => {
    const q = Buffer.from('abcd01000001000000000000037765620000010001', 'hex'); // id abcd, RD, "web" A IN
    const sock = net.connect(port, '127.0.0.1');
    const len = Buffer.alloc(2);
    len.writeUInt16BE(q.length);
    sock.write(Buffer.concat([len, q]));
    const reply = await new Promise<Buffer>((resolve, reject) => {
      let buf = Buffer.alloc(0);
      sock.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) resolve(buf.subarray(2));
      });
      sock.on('error', reject);
    });
    sock.destroy();
    assert.equal(reply.readUInt16BE(0), 0xabcd);
    assert.equal(reply.readUInt16BE(6), 1, 'one answer');
    assert.deepEqual([...reply.subarray(reply.length - 4)], [172, 18, 0, 2]);
  });

  it('ends when its input ends', async () => {
    input.end();
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(exited, true);
  });

  it('runs from its own text under node -e', async () => {
    const child = spawn(process.execPath, ['-e', dnsAgentScript()], { stdio: ['pipe', 'pipe', 'inherit'] });
    const first = await new Promise<string>((resolve) => child.stdout.once('data', (d: Buffer) => resolve(d.toString('utf8'))));
    assert.equal(first.trim(), '{"ok":"ready"}');
    child.stdin.end();
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    assert.equal(code, 0);
  });
});

/** src/util/http-get.ts and src/util/trust.ts: ADD's downloader and the extra CA roots. */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import { httpGet } from '../../src/util/http-get.js';
import { extraCAs, trustedCAs } from '../../src/util/trust.js';
import { makeTestCA, type TestCA } from '../helpers/registry.js';

const body = async (res: http.IncomingMessage): Promise<string> => {
  let s = '';
  for await (const c of res) s += c;
  return s;
};

describe('httpGet', () => {
  let server: http.Server;
  let base: string;
  before(async () => {
    server = http.createServer((req, res) => {
      const u = new URL(req.url!, 'http://x');
      if (u.pathname === '/file') return void res.end(`file ua=${req.headers['user-agent']}`);
      if (u.pathname === '/hop') {
        const n = Number(u.searchParams.get('n'));
        res.writeHead([301, 302, 303, 307, 308][n % 5], { location: n > 0 ? `/hop?n=${n - 1}` : '/file' });
        return void res.end('moved');
      }
      if (u.pathname === '/loop') {
        res.writeHead(302, { location: '/loop' });
        return void res.end();
      }
      res.writeHead(404);
      res.end('no');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => server.close());

  it('returns the body; follows every redirect status, relative locations included', async () => {
    assert.equal(await body(await httpGet(`${base}/file`)), 'file ua=mybuild/0.1');
    const res = await httpGet(`${base}/hop?n=6`);
    assert.equal(res.statusCode, 200);
    assert.equal(await body(res), 'file ua=mybuild/0.1');
  });

  it('gives non-2xx answers to the caller; stops after 20 redirects; refuses other schemes', async () => {
    const res = await httpGet(`${base}/missing`);
    assert.equal(res.statusCode, 404);
    res.resume();
    await assert.rejects(httpGet(`${base}/loop`), /redirect count exceeded/);
    await assert.rejects(httpGet('ftp://127.0.0.1/x'), /unsupported URL scheme ftp:/);
  });

  it('an abort signal stops the request', async () => {
    await assert.rejects(httpGet(`${base}/file`, { signal: AbortSignal.abort() }), /abort/i);
  });
});

describe('extra CA roots (MYBUILD_EXTRA_CA_CERTS)', () => {
  let ca: TestCA;
  let tmp: string;
  let server: https.Server;
  let url: string;
  const saved = process.env.MYBUILD_EXTRA_CA_CERTS;
  before(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'mybuild-trust-'));
    ca = await makeTestCA(tmp);
    server = https.createServer({ cert: await readFile(ca.serverCert), key: await readFile(ca.serverKey) }, (_req, res) => res.end('over tls'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  after(async () => {
    if (saved === undefined) delete process.env.MYBUILD_EXTRA_CA_CERTS;
    else process.env.MYBUILD_EXTRA_CA_CERTS = saved;
    server?.close();
    await rm(tmp, { recursive: true, force: true });
  });

  it("without extras, Node's defaults stand (no ca option); with them, the file plus Node's bundled roots", async () => {
    assert.equal(trustedCAs([], {}), undefined);
    const pem = await readFile(ca.caCert, 'utf8');
    const withExtra = trustedCAs([], { MYBUILD_EXTRA_CA_CERTS: ca.caCert })!;
    assert.deepEqual(withExtra, [pem, ...tls.rootCertificates]);
    const more = Buffer.from('certs.d root');
    assert.deepEqual(trustedCAs([more], {}), [more, ...tls.rootCertificates]);
  });

  it('an unreadable file is ignored with a warning, as Node does', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error): number => warnings.push(w.message);
    process.on('warning', onWarning);
    try {
      const missing = path.join(tmp, 'absent.pem');
      assert.equal(extraCAs({ MYBUILD_EXTRA_CA_CERTS: missing }), undefined);
      await new Promise((r) => setImmediate(r));
      assert.equal(warnings.length, 1);
      assert.match(warnings[0], /Ignoring extra certs from `.*absent\.pem`, load failed: ENOENT/);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('an https download trusts the CA given there, and is refused without it', async () => {
    delete process.env.MYBUILD_EXTRA_CA_CERTS;
    await assert.rejects(httpGet(url), /self[- ]signed|unable to (get|verify)/i);
    process.env.MYBUILD_EXTRA_CA_CERTS = ca.caCert;
    assert.equal(await body(await httpGet(url)), 'over tls');
  });
});

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pull } from '../../src/registry/pull.js';
import { push } from '../../src/registry/push.js';
import { RegistryClient } from '../../src/registry/client.js';
import { Transport } from '../../src/registry/transport.js';
import { RegistryError } from '../../src/errors.js';
import { validateImage } from '../../src/image/validate.js';
import { ImageStore } from '../../src/store/image-store.js';
import { runCli } from '../helpers/cli.js';
import { binPath } from '../helpers/paths.js';
import { makeCertsDir, makeImage, makeStore, registryMissing, run, skopeoMissing, startRegistry, type TestRegistry } from '../helpers/registry.js';

const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('https registries: certs.d CA, insecure registries, http fallback for loopback', { skip: registryMissing }, () => {
  let tlsReg: TestRegistry;
  let plainReg: TestRegistry;
  let tmp: string;
  let certs: string;
  before(async () => {
    [tlsReg, plainReg] = await Promise.all([startRegistry('anonymous', { tls: true }), startRegistry('anonymous')]);
    tmp = await mkdtemp(path.join(os.tmpdir(), 'mybuild-tls-'));
    certs = await makeCertsDir(path.join(tmp, 'certs.d'), tlsReg.domain, tlsReg.ca!);
  });
  after(async () => {
    await Promise.all([tlsReg?.stop(), plainReg?.stop()]);
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('a TLS registry on 127.0.0.1 is spoken to over https; a plain one falls back to http', async () => {
    const t1 = new Transport(tlsReg.domain, { certsDir: certs });
    const t2 = new Transport(plainReg.domain, { certsDir: certs });
    try {
      assert.equal(await t1.resolveScheme(), 'https');
      assert.equal(await t2.resolveScheme(), 'http');
      // The choice is kept: a second call does not probe again, and requests use it.
      assert.equal(await t2.resolveScheme(), 'http');
      const res = await t2.send(t2.url('/v2/'), { method: 'GET' });
      res.body.resume();
      assert.equal(res.status, 200);
      assert.equal(res.url.protocol, 'http:');
    } finally {
      t1.close();
      t2.close();
    }
  });

  it('push and pull over https with the CA in certs.d; skopeo reads it with the same CA', async (t) => {
    const store = await makeStore(path.join(tmp, 's1'));
    const img = await makeImage(store, [{ 'tls.txt': 'over https\n' }]);
    const pushed = await push(`${tlsReg.domain}/tls/app:1`, store, img.manifest, { clientOptions: { certsDir: certs } });
    assert.equal(pushed.digest, img.manifest.digest);
    const store2 = await makeStore(path.join(tmp, 's2'));
    const res = await pull(`${tlsReg.domain}/tls/app:1`, store2, undefined, { platform: 'linux/amd64', clientOptions: { certsDir: certs } });
    assert.equal(res.descriptor.digest, img.manifest.digest);
    await validateImage(store2, res.descriptor.digest);
    if (skopeoMissing) return t.diagnostic(`skopeo check skipped: ${skopeoMissing}`);
    const digest = (await run('skopeo', ['inspect', '--format', '{{.Digest}}', '--cert-dir', path.join(certs, tlsReg.domain), `docker://${tlsReg.domain}/tls/app:1`])).trim();
    assert.equal(digest, img.manifest.digest);
  });

  it('without the CA: a clear error naming the registry, the untrusted certificate and the fix', async () => {
    const store = await makeStore(path.join(tmp, 's3'));
    const empty = path.join(tmp, 'empty-certs.d');
    await assert.rejects(pull(`${tlsReg.domain}/tls/app:1`, store, undefined, { platform: 'linux/amd64', clientOptions: { certsDir: empty } }), (e: unknown) => {
      assert.ok(e instanceof RegistryError, String(e));
      assert.match(e.message, new RegExp(`^pull ${esc(tlsReg.domain)}/tls/app:1: registry ${esc(tlsReg.domain)} \\(https://${esc(tlsReg.domain)}\\): its TLS certificate is not trusted`));
      assert.ok(e.hint?.includes(path.join(empty, tlsReg.domain, 'ca.crt')), e.hint);
      assert.ok(e.hint?.includes(`--insecure-registry ${tlsReg.domain}`), e.hint);
      return true;
    });
  });

  it('--insecure-registry: any certificate is accepted over https; a plain registry still works over http', async () => {
    const store = await makeStore(path.join(tmp, 's4'));
    const img = await makeImage(store, [{ 'insecure.txt': 'no CA\n' }]);
    const empty = path.join(tmp, 'empty-certs.d');
    const c1 = new RegistryClient(tlsReg.domain, { certsDir: empty, insecureRegistries: [tlsReg.domain] });
    const c2 = new RegistryClient(plainReg.domain, { certsDir: empty, insecureRegistries: [`http://${plainReg.domain}`] });
    try {
      assert.equal((await push(`${tlsReg.domain}/insecure:1`, store, img.manifest, { client: c1 })).digest, img.manifest.digest);
      assert.equal(c1.transport.secure, true);
      assert.equal((await push(`${plainReg.domain}/insecure:1`, store, img.manifest, { client: c2 })).digest, img.manifest.digest);
      assert.equal(c2.transport.secure, false);
    } finally {
      c1.close();
      c2.close();
    }
  });

  it('mybuild pull honours MYBUILD_CERTS_DIR; without it the CLI prints the TLS error and hint', async () => {
    const root = path.join(tmp, 'root');
    const ok = await runCli(['--root', root, 'pull', '--platform', 'linux/amd64', `${tlsReg.domain}/tls/app:1`], { env: { MYBUILD_CERTS_DIR: certs, HOME: tmp } });
    assert.equal(ok.code, 0, ok.err);
    assert.ok(await (await ImageStore.open(root)).resolve(`${tlsReg.domain}/tls/app:1`));
    const bad = await runCli(['--root', root, 'pull', `${tlsReg.domain}/tls/app:1`], { env: { MYBUILD_CERTS_DIR: path.join(tmp, 'nowhere'), HOME: tmp } });
    assert.equal(bad.code, 5, bad.err);
    assert.match(bad.err, /its TLS certificate is not trusted/);
    assert.match(bad.err, /hint: put the CA certificate that signed it in .*nowhere\/127\.0\.0\.1:\d+\/ca\.crt, or mark the registry insecure: MYBUILD_INSECURE_REGISTRIES=127\.0\.0\.1:\d+ \(or --insecure-registry 127\.0\.0\.1:\d+ on pull, push and login\)/);
    // what the hint says works: the variable (and the flag on pull)
    const viaEnv = await runCli(['--root', root, 'pull', '-q', `${tlsReg.domain}/tls/app:1`], { env: { MYBUILD_CERTS_DIR: path.join(tmp, 'nowhere'), HOME: tmp, MYBUILD_INSECURE_REGISTRIES: tlsReg.domain } });
    assert.equal(viaEnv.code, 0, viaEnv.err);
    const viaFlag = await runCli(['--root', root, 'pull', '-q', '--insecure-registry', tlsReg.domain, `${tlsReg.domain}/tls/app:1`], { env: { MYBUILD_CERTS_DIR: path.join(tmp, 'nowhere'), HOME: tmp } });
    assert.equal(viaFlag.code, 0, viaFlag.err);
  });

  it('the installed command trusts a CA named by NODE_EXTRA_CA_CERTS (the launcher defers it to the first TLS connection)', { skip: existsSync(binPath) ? false : `${binPath} is not built` }, async () => {
    const root = path.join(tmp, 'root-extra-ca');
    const env = { ...process.env, MYBUILD_CERTS_DIR: path.join(tmp, 'nowhere'), HOME: tmp, XDG_CACHE_HOME: path.join(tmp, 'cache') };
    await run(binPath, ['--root', root, 'pull', '-q', '--platform', 'linux/amd64', `${tlsReg.domain}/tls/app:1`], { ...env, NODE_EXTRA_CA_CERTS: tlsReg.ca!.caCert });
    assert.ok(await (await ImageStore.open(root)).resolve(`${tlsReg.domain}/tls/app:1`));
    await assert.rejects(run(binPath, ['--root', root, 'pull', '-q', `${tlsReg.domain}/tls/app:1`], env), /its TLS certificate is not trusted/);
  });
});

describe('mutual TLS: client certificates from certs.d', { skip: registryMissing }, () => {
  let reg: TestRegistry;
  let tmp: string;
  before(async () => {
    reg = await startRegistry('anonymous', { tls: 'mutual' });
    tmp = await mkdtemp(path.join(os.tmpdir(), 'mybuild-mtls-'));
  });
  after(async () => {
    await reg?.stop();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('with client.cert and client.key the push and pull work', async () => {
    const certs = await makeCertsDir(path.join(tmp, 'with-client'), reg.domain, reg.ca!, { client: true });
    const store = await makeStore(path.join(tmp, 's1'));
    const img = await makeImage(store, [{ 'mtls.txt': 'client cert\n' }]);
    assert.equal((await push(`${reg.domain}/mtls:1`, store, img.manifest, { clientOptions: { certsDir: certs } })).digest, img.manifest.digest);
    const store2 = await makeStore(path.join(tmp, 's2'));
    const res = await pull(`${reg.domain}/mtls:1`, store2, undefined, { platform: 'linux/amd64', clientOptions: { certsDir: certs } });
    await validateImage(store2, res.descriptor.digest);
  });

  it('without a client certificate: a clear error that names the missing files', async () => {
    const certs = await makeCertsDir(path.join(tmp, 'ca-only'), reg.domain, reg.ca!);
    const store = await makeStore(path.join(tmp, 's3'));
    await assert.rejects(pull(`${reg.domain}/mtls:1`, store, undefined, { platform: 'linux/amd64', clientOptions: { certsDir: certs, retries: 0 } }), (e: unknown) => {
      assert.ok(e instanceof RegistryError, String(e));
      assert.match(e.message, new RegExp(`registry ${esc(reg.domain)} .*refused the TLS handshake: it wants a client certificate`));
      assert.match(e.hint ?? '', /client\.cert/);
      return true;
    });
  });
});

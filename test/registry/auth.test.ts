import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, stat, writeFile, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { eraseCredentials, loadCredentials, parseWwwAuthenticate, storeCredentials, TokenCache } from '../../src/registry/auth.js';
import { RegistryClient } from '../../src/registry/client.js';
import { pull } from '../../src/registry/pull.js';
import { push } from '../../src/registry/push.js';
import { RegistryError } from '../../src/errors.js';
import { makeImage, makeStore, registryMissing, startRegistry, type TestRegistry } from '../helpers/registry.js';

describe('parseWwwAuthenticate', () => {
  const rows = [
    { name: 'bearer', input: 'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull"', want: [{ scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/alpine:pull' } }] },
    { name: 'basic', input: 'Basic realm="Registry Realm"', want: [{ scheme: 'basic', params: { realm: 'Registry Realm' } }] },
    { name: 'escaped quote, spaces, error', input: 'Bearer realm = "a\\"b" , error="insufficient_scope",scope="repository:a:pull,push"', want: [{ scheme: 'bearer', params: { realm: 'a"b', error: 'insufficient_scope', scope: 'repository:a:pull,push' } }] },
    { name: 'two challenges', input: 'Basic realm="x", Bearer realm="y",service=z', want: [{ scheme: 'basic', params: { realm: 'x' } }, { scheme: 'bearer', params: { realm: 'y', service: 'z' } }] },
    { name: 'empty', input: '', want: [] },
  ];
  for (const { name, input, want } of rows) it(name, () => assert.deepEqual(parseWwwAuthenticate(input), want));
});

describe('TokenCache', () => {
  it('expires tokens (with 10 s of margin) and defaults expires_in to 60 s', () => {
    let now = 1_000_000;
    const c = new TokenCache(() => now);
    c.set('k', 't', 30);
    c.set('d', 'u', undefined);
    assert.equal(c.get('k'), 't');
    now += 19_000;
    assert.equal(c.get('k'), 't');
    now += 2_000;
    assert.equal(c.get('k'), undefined);
    assert.equal(c.get('d'), 'u');
    now += 40_000;
    assert.equal(c.get('d'), undefined);
  });
});

describe('credentials from config.json', () => {
  let dir: string;
  before(async () => (dir = await mkdtemp(path.join(os.tmpdir(), 'mybuild-auth-'))));
  after(async () => dir && rm(dir, { recursive: true, force: true }));

  it('reads auths (base64 auth, identitytoken, Docker Hub key) and is absent otherwise', async () => {
    const env = { DOCKER_CONFIG: path.join(dir, 'c1'), PATH: process.env.PATH };
    await mkdir(env.DOCKER_CONFIG, { recursive: true });
    await writeFile(path.join(env.DOCKER_CONFIG, 'config.json'), JSON.stringify({
      auths: {
        'localhost:5000': { auth: Buffer.from('u:p:with:colons').toString('base64') },
        'https://index.docker.io/v1/': { auth: Buffer.from('hub:pw').toString('base64') },
        'http://reg.example:1234': { identitytoken: 'rt-1' },
      },
    }));
    assert.deepEqual(await loadCredentials('localhost:5000', env), { username: 'u', password: 'p:with:colons' });
    assert.deepEqual(await loadCredentials('docker.io', env), { username: 'hub', password: 'pw' });
    assert.deepEqual(await loadCredentials('reg.example:1234', env), { identityToken: 'rt-1' });
    assert.equal(await loadCredentials('other:1', env), undefined);
    assert.equal(await loadCredentials('x', { DOCKER_CONFIG: path.join(dir, 'nope') }), undefined);
  });

  it('uses credHelpers and credsStore programs (docker-credential-<name> get)', async () => {
    const bin = path.join(dir, 'bin');
    await mkdir(bin, { recursive: true });
    const log = path.join(dir, 'helper.log');
    await writeFile(path.join(bin, 'docker-credential-testhelper'), `#!/bin/sh
read url
echo "$1 $url" >> ${log}
case "$1:$url" in
  get:reg.example:5000) echo '{"ServerURL":"reg.example:5000","Username":"helperuser","Secret":"helperpw"}' ;;
  get:tok.example) echo '{"ServerURL":"tok.example","Username":"<token>","Secret":"idtoken"}' ;;
  get:*) echo "credentials not found in native keychain"; exit 1 ;;
  store:*|erase:*) cat >/dev/null ;;
esac
`);
    await chmod(path.join(bin, 'docker-credential-testhelper'), 0o755);
    const env = { DOCKER_CONFIG: path.join(dir, 'c2'), PATH: `${bin}:${process.env.PATH}` };
    await mkdir(env.DOCKER_CONFIG, { recursive: true });
    await writeFile(path.join(env.DOCKER_CONFIG, 'config.json'), JSON.stringify({ credHelpers: { 'reg.example:5000': 'testhelper' }, credsStore: 'testhelper', auths: { 'x.example': { auth: Buffer.from('a:b').toString('base64') } } }));
    assert.deepEqual(await loadCredentials('reg.example:5000', env), { username: 'helperuser', password: 'helperpw' });
    assert.deepEqual(await loadCredentials('tok.example', env), { identityToken: 'idtoken' });
    // credsStore has nothing for x.example: the auths entry is used.
    assert.deepEqual(await loadCredentials('x.example', env), { username: 'a', password: 'b' });
    assert.match(await readFile(log, 'utf8'), /get reg\.example:5000/);
    await writeFile(path.join(env.DOCKER_CONFIG, 'config.json'), JSON.stringify({ credsStore: 'missinghelper' }));
    await assert.rejects(loadCredentials('a.example', env), /docker-credential-missinghelper could not be run: not found on PATH/);
  });

  it('stores (mode 0600, other keys kept) and erases', async () => {
    const env = { DOCKER_CONFIG: path.join(dir, 'c3') };
    await mkdir(env.DOCKER_CONFIG, { recursive: true });
    const file = path.join(env.DOCKER_CONFIG, 'config.json');
    await writeFile(file, JSON.stringify({ psFormat: 'table', auths: { 'http://localhost:5000': { auth: 'eDp5' } } }));
    await storeCredentials('localhost:5000', { username: 'me', password: 'pw' }, env);
    const cfg = JSON.parse(await readFile(file, 'utf8'));
    assert.equal(cfg.psFormat, 'table');
    assert.deepEqual(cfg.auths, { 'localhost:5000': { auth: Buffer.from('me:pw').toString('base64') } });
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    await storeCredentials('docker.io', { username: 'h', password: 'p' }, env);
    assert.ok(JSON.parse(await readFile(file, 'utf8')).auths['https://index.docker.io/v1/']);
    assert.equal(await eraseCredentials('localhost:5000', env), true);
    assert.equal(await eraseCredentials('localhost:5000', env), false);
    assert.equal(await loadCredentials('localhost:5000', env), undefined);
  });
});

describe('Basic auth registry (htpasswd)', { skip: registryMissing }, () => {
  let reg: TestRegistry;
  let tmp: string;
  before(async () => {
    reg = await startRegistry('basic');
    tmp = await mkdtemp(path.join(os.tmpdir(), 'mybuild-basic-'));
  });
  after(async () => {
    await reg?.stop();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('pings as Basic, accepts the right password and refuses a wrong one', async () => {
    const good = new RegistryClient(reg.domain, { credentials: { username: 'alice', password: 'wonderland' } });
    assert.equal((await good.ping())?.scheme, 'basic');
    await good.checkLogin();
    good.close();
    const bad = new RegistryClient(reg.domain, { credentials: { username: 'alice', password: 'nope' } });
    await assert.rejects(bad.checkLogin(), (e: unknown) => {
      assert.ok(e instanceof RegistryError);
      assert.match(e.message, new RegExp(`login to ${reg.domain.replace(/\./g, '\\.')}: .*\\(401\\)`));
      assert.match(e.hint ?? '', /refused the credentials/);
      return true;
    });
    bad.close();
  });

  it('pushes and pulls with credentials from config.json; anonymous is refused with a hint', async () => {
    const dc = path.join(tmp, 'docker');
    await mkdir(dc, { recursive: true });
    await writeFile(path.join(dc, 'config.json'), JSON.stringify({ auths: { [reg.domain]: { auth: Buffer.from('bob:s3cret').toString('base64') } } }));
    const env = { DOCKER_CONFIG: dc };
    const store = await makeStore(path.join(tmp, 's'));
    const img = await makeImage(store, [{ f: 'basic\n' }]);
    await push(`${reg.domain}/basic/app:1`, store, img.manifest, { clientOptions: { env } });
    const store2 = await makeStore(path.join(tmp, 's2'));
    const res = await pull(`${reg.domain}/basic/app:1`, store2, undefined, { clientOptions: { env }, platform: 'linux/amd64' });
    assert.equal(res.descriptor.digest, img.manifest.digest);
    await assert.rejects(pull(`${reg.domain}/basic/app:1`, store2, undefined, { clientOptions: { credentials: null } }), (e: unknown) => {
      assert.ok(e instanceof RegistryError);
      assert.match(e.message, new RegExp(`^pull ${reg.domain.replace(/\./g, '\\.')}/basic/app:1: .*\\(401\\)$`));
      assert.match(e.hint ?? '', /mybuild login/);
      return true;
    });
  });
});

describe('Bearer token registry', { skip: registryMissing }, () => {
  let reg: TestRegistry;
  let tmp: string;
  before(async () => {
    reg = await startRegistry('token');
    tmp = await mkdtemp(path.join(os.tmpdir(), 'mybuild-token-'));
  });
  after(async () => {
    await reg?.stop();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('pushes with a user token, caches tokens per scope, pulls with an anonymous token', async () => {
    const issuer = reg.issuer!;
    const client = new RegistryClient(reg.domain, { credentials: { username: 'alice', password: 'wonderland' } });
    const c = await client.ping();
    assert.equal(c?.scheme, 'bearer');
    assert.equal(c?.params.service, 'mybuild-test-registry');
    const store = await makeStore(path.join(tmp, 's'));
    const img = await makeImage(store, [{ f: 'token\n' }]);
    await push(`${reg.domain}/tok/app:1`, store, img.manifest, { client });
    const afterFirst = issuer.requests.length;
    assert.ok(afterFirst >= 1);
    assert.ok(issuer.requests.every((r) => r.user === 'alice'));
    await push(`${reg.domain}/tok/app:1`, store, img.manifest, { client });
    assert.equal(issuer.requests.length, afterFirst, 'the second push reused the cached token');
    client.close();

    const anon = new RegistryClient(reg.domain, { credentials: null });
    const store2 = await makeStore(path.join(tmp, 's2'));
    const before = issuer.requests.length;
    const res = await pull(`${reg.domain}/tok/app:1`, store2, undefined, { client: anon, platform: 'linux/amd64' });
    assert.equal(res.descriptor.digest, img.manifest.digest);
    const anonRequests = issuer.requests.slice(before);
    assert.ok(anonRequests.length >= 1);
    for (const r of anonRequests) assert.deepEqual([r.user, r.scopes], [undefined, ['repository:tok/app:pull']]);
    // Anonymous users may not push: the registry refuses with 401 and we say so.
    await assert.rejects(push(`${reg.domain}/tok/other:1`, store, img.manifest, { client: anon }), /^RegistryError: push 127\.0\.0\.1:\d+\/tok\/other:1: .*\((401|403)\)/);
    anon.close();
  });

  it('refreshes an expired token', async () => {
    const issuer = reg.issuer!;
    issuer.expiresIn = 5; // within the 10 s margin: never reused
    try {
      const client = new RegistryClient(reg.domain, { credentials: { username: 'bob', password: 's3cret' } });
      const n = issuer.requests.length;
      await client.manifestDigest('tok/app', '1');
      await client.manifestDigest('tok/app', '1');
      // Each call fetched a new token (an idle keep-alive socket closed by the issuer can make
      // the transport retry a token request, so more than 2 is possible under load).
      assert.ok(issuer.requests.length >= n + 2, JSON.stringify(issuer.requests.slice(n)));
      client.close();
    } finally {
      issuer.expiresIn = 300;
    }
  });

  it('uses an identity token (OAuth2 refresh_token grant) and rejects a wrong password', async () => {
    const idc = new RegistryClient(reg.domain, { credentials: { identityToken: 'refresh-alice' } });
    assert.ok(await idc.manifestDigest('tok/app', '1'));
    assert.equal(reg.issuer!.requests.at(-1)?.grant, 'refresh_token');
    idc.close();
    const bad = new RegistryClient(reg.domain, { credentials: { username: 'alice', password: 'wrong' } });
    await assert.rejects(bad.checkLogin(), /token request to 127\.0\.0\.1:\d+\/token for 127\.0\.0\.1:\d+: incorrect username or password \(401\)/);
    bad.close();
  });
});

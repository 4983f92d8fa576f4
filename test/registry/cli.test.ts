import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../helpers/cli.js';
import { ImageStore } from '../../src/store/image-store.js';
import { makeImage, registryMissing, run, skopeoMissing, startRegistry, type TestRegistry } from '../helpers/registry.js';

function cli(argv: string[], env: NodeJS.ProcessEnv, stdin = '') {
  return runCli(argv, { env, stdin });
}

describe('mybuild login / push / pull / logout', { skip: registryMissing }, () => {
  let reg: TestRegistry;
  let tmp: string;
  let env: NodeJS.ProcessEnv;
  before(async () => {
    reg = await startRegistry('basic');
    tmp = await mkdtemp(path.join(os.tmpdir(), 'mybuild-cli-registry-'));
    env = { PATH: process.env.PATH, HOME: tmp, DOCKER_CONFIG: path.join(tmp, 'docker') };
  });
  after(async () => {
    await reg?.stop();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('login refuses a wrong password and saves a right one (mode 0600)', async () => {
    const bad = await cli(['login', '-u', 'alice', '--password-stdin', reg.domain], env, 'wrong\n');
    assert.equal(bad.code, 5);
    assert.match(bad.err, /error: login to 127\.0\.0\.1:\d+: .*\(401\)/);
    const ok = await cli(['login', '-u', 'alice', '--password-stdin', reg.domain], env, 'wonderland\n');
    assert.equal(ok.code, 0, ok.err);
    assert.match(ok.out, /Login Succeeded/);
    const file = path.join(tmp, 'docker', 'config.json');
    assert.equal(JSON.parse(await readFile(file, 'utf8')).auths[reg.domain].auth, Buffer.from('alice:wonderland').toString('base64'));
    assert.equal((await stat(file)).mode & 0o777, 0o600);
  });

  it('push prints the digest line; pull into another store names the image', async () => {
    const root1 = path.join(tmp, 'root1');
    const images = await ImageStore.open(root1);
    const img = await makeImage(images.content, [{ 'f.txt': 'cli\n' }]);
    const name = `${reg.domain}/cli/app:v1`;
    await images.setRef(name, img.manifest);
    const p = await cli(['--root', root1, 'push', name], env);
    assert.equal(p.code, 0, p.err);
    assert.match(p.out, new RegExp(`^v1: digest: ${img.manifest.digest} size: ${img.manifest.size}$`, 'm'));
    assert.match(p.out, /: Pushed$/m);

    const root2 = path.join(tmp, 'root2');
    const q = await cli(['--root', root2, 'pull', '--platform', 'linux/amd64', name], env);
    assert.equal(q.code, 0, q.err);
    // As Docker prints it: the repository path, without the registry host and port.
    assert.match(q.out, /^v1: Pulling from cli\/app$/m);
    assert.match(q.out, new RegExp(`Digest: ${img.manifest.digest}`));
    assert.match(q.out, /Status: Downloaded newer image/);
    const again = await cli(['--root', root2, 'pull', '--platform', 'linux/amd64', name], env);
    assert.match(again.out, /Already exists/);
    assert.match(again.out, /Status: Image is up to date/);
    const got = await (await ImageStore.open(root2)).resolve(name);
    assert.equal(got.manifestDescriptor.digest, img.manifest.digest);

    const missing = await cli(['--root', root2, 'pull', `${reg.domain}/cli/app:nope`], env);
    assert.equal(missing.code, 5);
    assert.match(missing.err, new RegExp(`error: pull ${reg.domain.replace(/\./g, '\\.')}/cli/app:nope: manifest unknown \\(404\\)`));
  });

  it('push of a name that points at a multi-platform index pushes the index', { skip: skopeoMissing }, async () => {
    const root = path.join(tmp, 'root-multi');
    const images = await ImageStore.open(root);
    const amd = await makeImage(images.content, [{ arch: 'amd64\n' }], { architecture: 'amd64' });
    const arm = await makeImage(images.content, [{ arch: 'arm64\n' }], { architecture: 'arm64' });
    const index = Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        { ...amd.manifest, platform: { architecture: 'amd64', os: 'linux' } },
        { ...arm.manifest, platform: { architecture: 'arm64', os: 'linux' } },
      ],
    }));
    const info = await images.content.writeBytes(index);
    const name = `${reg.domain}/cli/multi:1`;
    await images.setRef(name, { mediaType: 'application/vnd.oci.image.index.v1+json', digest: info.digest, size: info.size });
    const p = await cli(['--root', root, 'push', name], env);
    assert.equal(p.code, 0, p.err);
    assert.match(p.out, new RegExp(`^1: digest: ${info.digest} size: ${info.size}$`, 'm'));
    const creds = `alice:${reg.users.alice}`;
    const raw = JSON.parse(await run('skopeo', ['inspect', '--raw', '--tls-verify=false', '--creds', creds, `docker://${name}`])) as { manifests: { digest: string }[] };
    assert.deepEqual(raw.manifests.map((m) => m.digest), [amd.manifest.digest, arm.manifest.digest]);
    const armDigest = (await run('skopeo', ['inspect', '--format', '{{.Digest}}', '--override-arch', 'arm64', '--tls-verify=false', '--creds', creds, `docker://${name}`])).trim();
    assert.equal(armDigest, info.digest, 'skopeo reports the index digest for the tag');
  });

  it('logout removes the credentials; then the registry refuses us', async () => {
    const out = await cli(['logout', reg.domain], env);
    assert.equal(out.code, 0);
    assert.match(out.out, new RegExp(`Removing login credentials for ${reg.domain.replace(/\./g, '\\.')}`));
    assert.match((await cli(['logout', reg.domain], env)).out, /Not logged in/);
    const q = await cli(['--root', path.join(tmp, 'root3'), 'pull', `${reg.domain}/cli/app:v1`], env);
    assert.equal(q.code, 5);
    assert.match(q.err, /\(401\)\nhint: log in first: mybuild login/);
  });

  it('usage errors', async () => {
    assert.equal((await cli(['pull'], env)).code, 2);
    assert.equal((await cli(['login', reg.domain], env)).code, 2);
    const bad = await cli(['pull', 'upper/Case'], env);
    assert.match(bad.err, /repository name must be lowercase/);
  });
});

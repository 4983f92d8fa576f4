/**
 * The registry through the builder, end to end: `mybuild build` with an empty store pulls its
 * FROM image from the real registry (pushed there by skopeo from the busybox fixture), `--push`
 * publishes the result (skopeo sees the same manifest digest), and the image skopeo copies back
 * unpacks with umoci exactly like the local export. Bad input fails with the Dockerfile location.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ImageStore } from '../../src/store/image-store.js';
import { validateImage } from '../../src/image/validate.js';
import { baseImageSkipReason, ensureBaseImage } from '../helpers/base-image.js';
import { distributableOf } from '../helpers/build.js';
import { runCli } from '../helpers/cli.js';
import { registryMissing, run, skopeoMissing, startRegistry, type TestRegistry } from '../helpers/registry.js';

const umociMissing = existsSync('/usr/bin/umoci') || (process.env.PATH ?? '').split(':').some((d) => d && existsSync(path.join(d, 'umoci'))) ? false : 'umoci is not installed (scripts/install-system-deps.sh)';
const notRoot = process.getuid?.() === 0 ? false : 'umoci unpack keeps file owners only as root';
const skip = registryMissing || skopeoMissing || baseImageSkipReason();
const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('mybuild build against a registry: FROM pulls, --push pushes', { skip }, () => {
  let reg: TestRegistry;
  let tmp: string;
  let env: NodeJS.ProcessEnv;
  before(async () => {
    reg = await startRegistry('anonymous');
    tmp = await mkdtemp(path.join(os.tmpdir(), 'mybuild-build-registry-'));
    // buildx's default provenance on --push (test/registry/provenance-e2e.test.ts) left out: these tests look at the image itself.
    env = { PATH: process.env.PATH, HOME: tmp, DOCKER_CONFIG: path.join(tmp, 'docker'), BUILDX_NO_DEFAULT_ATTESTATIONS: '1' };
    const layout = await ensureBaseImage();
    await run('skopeo', ['copy', '--dest-tls-verify=false', `oci:${layout}:latest`, `docker://${reg.domain}/base:1`]);
  });
  after(async () => {
    await reg?.stop();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('an empty store builds FROM the registry and --push publishes the same manifest digest', async (t) => {
    const ctx = path.join(tmp, 'ctx');
    await mkdir(ctx, { recursive: true });
    await writeFile(path.join(ctx, 'Dockerfile'), `FROM ${reg.domain}/base:1\nCOPY hello.txt /srv/hello.txt\nENV GREETING=hi\n`);
    await writeFile(path.join(ctx, 'hello.txt'), 'hello from the registry test\n');
    const root = path.join(tmp, 'root');
    const local = path.join(tmp, 'local-oci');
    const name = `${reg.domain}/app:1`;
    const r = await runCli(['--root', root, 'build', '--progress', 'plain', '--push', '-t', name, '-o', `type=oci,dest=${local},tar=false`, ctx], { env });
    assert.equal(r.code, 0, r.err + r.out);
    // The pull of the base and the push of the result show up as transfers in the progress.
    assert.match(r.err, /^#- pull layer sha256:[0-9a-f]{64}/m);
    assert.match(r.err, /^#- push (layer|config|manifest)/m);

    const images = await ImageStore.open(root);
    const base = await images.resolve(`${reg.domain}/base:1`);
    const baseDigest = (await run('skopeo', ['inspect', '--format', '{{.Digest}}', '--tls-verify=false', `docker://${reg.domain}/base:1`])).trim();
    assert.equal(base.manifestDescriptor.digest, baseDigest, 'FROM pulled the base into the empty store');
    const app = await images.resolve(name);
    await validateImage(images.content, app.manifestDescriptor.digest);
    const pushed = (await run('skopeo', ['inspect', '--format', '{{.Digest}}', '--tls-verify=false', `docker://${name}`])).trim();
    // The store keeps the build's layers uncompressed; the push sent their gzip variants.
    assert.equal(pushed, (await distributableOf(root, app.manifestDescriptor)).digest, 'skopeo sees the digest of the local image as pushed');
    const inspect = await runCli(['--root', root, 'inspect', name], { env });
    assert.ok((JSON.parse(inspect.out) as { RepoDigests: string[] }[])[0].RepoDigests.includes(`${reg.domain}/app@${pushed}`), inspect.out);

    // Round trip: skopeo copies the pushed image back; umoci unpacks it like the local export.
    if (umociMissing || notRoot) return t.diagnostic(`umoci comparison skipped: ${umociMissing || notRoot}`);
    const back = path.join(tmp, 'back-oci');
    await run('skopeo', ['copy', '--src-tls-verify=false', `docker://${name}`, `oci:${back}:app`]);
    const localIndex = JSON.parse(await readFile(path.join(local, 'index.json'), 'utf8')) as { manifests: { annotations?: Record<string, string> }[] };
    const localTag = localIndex.manifests[0].annotations?.['org.opencontainers.image.ref.name'] ?? 'latest';
    await run('umoci', ['unpack', '--image', `${local}:${localTag}`, path.join(tmp, 'unpack-local')]);
    await run('umoci', ['unpack', '--image', `${back}:app`, path.join(tmp, 'unpack-back')]);
    await run('diff', ['-r', '--no-dereference', path.join(tmp, 'unpack-local', 'rootfs'), path.join(tmp, 'unpack-back', 'rootfs')]);
    assert.equal(await readFile(path.join(tmp, 'unpack-back', 'rootfs', 'srv', 'hello.txt'), 'utf8'), 'hello from the registry test\n');
    const cfg = JSON.parse(await readFile(path.join(tmp, 'unpack-back', 'config.json'), 'utf8')) as { process: { env: string[] } };
    assert.ok(cfg.process.env.includes('GREETING=hi'));
  });

  it('an image skopeo pushed is pulled by mybuild pull and built upon', async () => {
    const root = path.join(tmp, 'root2');
    const p = await runCli(['--root', root, 'pull', `${reg.domain}/base:1`], { env });
    assert.equal(p.code, 0, p.err);
    assert.match(p.out, /Status: Downloaded newer image/);
    const ctx = path.join(tmp, 'ctx2');
    await mkdir(ctx, { recursive: true });
    await writeFile(path.join(ctx, 'Dockerfile'), `FROM ${reg.domain}/base:1\nWORKDIR /data\nCOPY . .\n`);
    await writeFile(path.join(ctx, 'x.txt'), 'x\n');
    const r = await runCli(['--root', root, 'build', '--progress', 'plain', '-t', 'upon:1', ctx], { env });
    assert.equal(r.code, 0, r.err + r.out);
    const images = await ImageStore.open(root);
    const img = await images.resolve('upon:1');
    const base = await images.resolve(`${reg.domain}/base:1`);
    assert.equal(img.manifest.layers.length, base.manifest.layers.length + 2, 'WORKDIR and COPY layers on top of the base layers');
    assert.deepEqual(img.manifest.layers.slice(0, base.manifest.layers.length), base.manifest.layers);
    await validateImage(images.content, img.manifestDescriptor.digest);
  });

  it('a missing tag in FROM: one clear error with the Dockerfile location', async () => {
    const ctx = path.join(tmp, 'ctx3');
    await mkdir(ctx, { recursive: true });
    await writeFile(path.join(ctx, 'Dockerfile'), `# comment\nFROM ${reg.domain}/base:nope\nRUN true\n`);
    const r = await runCli(['--root', path.join(tmp, 'root3'), 'build', '--progress', 'plain', ctx], { env });
    assert.equal(r.code, 5, r.err + r.out);
    assert.match(r.err, new RegExp(`Dockerfile:2:\\d+: .*${esc(reg.domain)}/base:nope: not in the store, and pulling it failed: pull ${esc(reg.domain)}/base:nope: manifest unknown \\(404\\)`));
  });

  it('an unknown registry host in FROM: one clear error with the Dockerfile location', async () => {
    const ctx = path.join(tmp, 'ctx4');
    await mkdir(ctx, { recursive: true });
    await writeFile(path.join(ctx, 'Dockerfile'), 'FROM nosuchhost.invalid/base:1\n');
    const r = await runCli(['--root', path.join(tmp, 'root4'), 'build', '--progress', 'plain', ctx], { env });
    assert.equal(r.code, 5, r.err + r.out);
    assert.match(r.err, /Dockerfile:1:\d+: .*cannot reach registry nosuchhost\.invalid .*host "nosuchhost\.invalid" not found/);
  });
});

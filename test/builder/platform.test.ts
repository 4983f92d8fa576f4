/**
 * `--platform` for a single-platform build (src/registry/platform.ts, src/builder/platform-check.ts,
 * src/registry/pull.ts): a malformed or unknown platform, and a list for pull, are refused; a base image
 * for another platform is refused naming the image and what it has (it built amd64 bits and
 * labelled them arm64 before); an index picks its matching entry; a RUN the host cannot execute
 * is refused; `pull --platform` of an image for another platform fails with docker's texts.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { serializeIndex } from '../../src/image/manifest.js';
import { MediaTypes, type Descriptor, type ImageConfig } from '../../src/oci/types.js';
import { formatPlatform, hostPlatform } from '../../src/oci/platform.js';
import { push } from '../../src/registry/push.js';
import { ImageStore } from '../../src/store/image-store.js';
import { buildSkipReason, cleanupTemp, makeStoreRoot, writeContext } from '../helpers/build.js';
import { runCli } from '../helpers/cli.js';
import { makeImage, registryMissing, startRegistry, type TestRegistry } from '../helpers/registry.js';

const host = hostPlatform();
const other = host.architecture === 'amd64' ? 'arm64' : 'amd64';
const OTHER = `linux/${other}`;
const HOST = formatPlatform(host);
const emulated = existsSync(`/proc/sys/fs/binfmt_misc/qemu-${other === 'arm64' ? 'aarch64' : 'x86_64'}`);

/** Stores an index of one image per architecture under `name`; returns the manifests by architecture. */
async function storeIndex(root: string, name: string, archs: string[]): Promise<Record<string, Descriptor>> {
  const store = await ImageStore.open(root);
  const out: Record<string, Descriptor> = {};
  for (const a of archs) out[a] = (await makeImage(store.content, [{ [`arch-${a}`]: `${a}\n` }], { architecture: a })).manifest;
  const bytes = serializeIndex({ schemaVersion: 2, mediaType: MediaTypes.OCI_INDEX, manifests: archs.map((a) => ({ ...out[a], platform: { architecture: a, os: 'linux' } })) });
  const info = await store.content.writeBytes(bytes);
  await store.setRef(name, { mediaType: MediaTypes.OCI_INDEX, digest: info.digest, size: info.size });
  return out;
}

describe('--platform is checked', () => {
  it('a malformed or unknown platform, and a list of platforms, are refused (build, pull, --check)', async () => {
    const root = ['--root', '/nonexistent-mybuild-platform-root'];
    const cwd = await mkdtemp(path.join(os.tmpdir(), 'mybuild-platform-'));
    await writeFile(path.join(cwd, 'Dockerfile'), 'FROM scratch\n');
    for (const argv of [['build', '--platform', 'bogus', '.'], ['pull', '--platform', 'bogus', 'x'], ['build', '--check', '--platform', 'linux/bogus', '.']]) {
      const r = await runCli([...root, ...argv], { cwd });
      assert.notEqual(r.code, 0, argv.join(' '));
      assert.match(r.err, /invalid platform "(linux\/)?bogus": unknown operating system or architecture/, argv.join(' '));
    }
    // A list is for build (test/builder/multi-platform.test.ts); pull takes one platform.
    const list = await runCli([...root, 'pull', '--platform', 'linux/amd64,linux/arm64', 'x']);
    assert.equal(list.code, 1, list.err);
    assert.match(list.err, /--platform "linux\/amd64,linux\/arm64": give one platform here \(a list of platforms is for mybuild build\)/);
    await rm(cwd, { recursive: true, force: true });
  });
});

describe('--platform and base images', { skip: buildSkipReason() }, () => {
  let root: string;
  before(async () => {
    root = await makeStoreRoot();
    await storeIndex(root, 'docker.io/library/multi:1', ['amd64', 'arm64']);
    await storeIndex(root, 'docker.io/library/hostonly:1', [host.architecture]);
  });
  after(cleanupTemp);
  const build = async (dockerfile: string, ...args: string[]) => runCli(['--root', root, 'build', '-q', ...args, await writeContext({ Dockerfile: dockerfile, f: 'f\n' })]);

  it(`--platform ${OTHER} on a base image that is only ${HOST}: refused, naming the image and its platform`, async () => {
    const r = await build('FROM busybox\nCOPY f /f\n', '--platform', OTHER);
    assert.equal(r.code, 3, r.err);
    assert.match(r.err, new RegExp(`Dockerfile:1:1: base image busybox is for ${HOST}, not for the requested platform ${OTHER} \\(--platform\\)`));
    // An index whose only entry is for the host: the same.
    const idx = await build('FROM hostonly:1\nCOPY f /f\n', '--platform', OTHER);
    assert.equal(idx.code, 3, idx.err);
    assert.match(idx.err, new RegExp(`base image hostonly:1 is for ${HOST}, not for the requested platform ${OTHER}`));
    // An index with several entries, none for the platform: what it has.
    const none = await build('FROM multi:1\nCOPY f /f\n', '--platform', 'linux/s390x');
    assert.equal(none.code, 3, none.err);
    assert.match(none.err, /base image multi:1 has no image for the requested platform linux\/s390x \(--platform\); it has: linux\/amd64, linux\/arm64/);
  });

  it('an index base image gives the entry of the requested platform (and the host\'s by default)', async () => {
    const store = await ImageStore.open(root);
    for (const [args, arch] of [[['--platform', OTHER], other], [[], host.architecture]] as const) {
      const r = await build('FROM multi:1\nCOPY f /f\n', ...args);
      assert.equal(r.code, 0, r.err);
      const img = await store.resolve(r.out.trim());
      const config: ImageConfig = img.config;
      assert.equal(config.architecture, arch);
      const layers = await Promise.all(img.manifest.layers.map((l) => store.content.info(l.digest)));
      assert.equal(layers.length, 2);
    }
  });

  it(`a RUN for ${OTHER} is refused: this host cannot execute it`, { skip: emulated ? `a binfmt_misc emulator for ${other} is registered` : false }, async () => {
    const r = await build('FROM multi:1\nRUN true\n', '--platform', OTHER);
    assert.equal(r.code, 3, r.err);
    assert.match(r.err, new RegExp(`Dockerfile:2:1: RUN for platform ${OTHER} cannot run on this host \\(${HOST}\\)`));
  });
});

describe('pull --platform', { skip: registryMissing }, () => {
  let reg: TestRegistry;
  let tmp: string;
  before(async () => {
    reg = await startRegistry('anonymous');
    tmp = await mkdtemp(path.join(os.tmpdir(), 'mybuild-pull-platform-'));
    const src = await ImageStore.open(path.join(tmp, 'src'));
    const single = await makeImage(src.content, [{ a: 'a\n' }], { architecture: host.architecture });
    await push(`${reg.domain}/single:1`, src.content, single.manifest);
    await storeIndex(path.join(tmp, 'src'), `${reg.domain}/indexed:1`, [host.architecture]);
    const idx = await src.resolve(`${reg.domain}/indexed:1`);
    await push(`${reg.domain}/indexed:1`, src.content, idx.descriptor);
  });
  after(async () => {
    await reg?.stop();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });
  const pullCli = (...args: string[]) => runCli(['--root', path.join(tmp, 'dst'), 'pull', ...args]);

  it(`a single-platform ${HOST} image with --platform ${OTHER}: docker's "does not match the specified platform"`, async () => {
    const r = await pullCli('--platform', OTHER, `${reg.domain}/single:1`);
    assert.equal(r.code, 5, r.err);
    assert.match(r.err, new RegExp(`image with reference ${reg.domain}/single:1 was found but does not match the specified platform: wanted ${OTHER}, actual: ${HOST}`));
    const store = await ImageStore.open(path.join(tmp, 'dst'));
    assert.equal((await store.listRefs()).length, 0, 'nothing named');
    const ok = await pullCli('--platform', HOST, `${reg.domain}/single:1`);
    assert.equal(ok.code, 0, ok.err);
  });

  it(`an index without ${OTHER}: docker's "no matching manifest"`, async () => {
    const r = await pullCli('--platform', OTHER, `${reg.domain}/indexed:1`);
    assert.equal(r.code, 5, r.err);
    assert.match(r.err, new RegExp(`no matching manifest for ${OTHER} in the manifest list entries \\(the image has: ${HOST}\\)`));
  });
});

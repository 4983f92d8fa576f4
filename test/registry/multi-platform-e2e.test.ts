/**
 * Multi-platform builds against the real registry (Debian's docker-registry on 127.0.0.1):
 * the multi-platform busybox fixture is pushed there by skopeo (`copy --all`), an empty store
 * builds `--platform linux/amd64,linux/arm64 --push` FROM it (each platform's base pulled from
 * the index), `skopeo inspect --raw` lists the pushed index with both platforms, and each
 * platform's image, copied back by skopeo and unpacked by umoci, holds its own architecture's
 * RUN result (`uname -m`: x86_64 / aarch64, the foreign one under QEMU). A cross-compiling
 * Dockerfile (`FROM --platform=$BUILDPLATFORM … AS build` + `ARG TARGETARCH`) runs its build
 * stage natively once per platform. `run --platform linux/arm64` and `pull --platform` of the
 * pushed index take that platform's image.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Index } from '../../src/oci/types.js';
import { hostPlatform } from '../../src/oci/platform.js';
import { ensureMultiArchBaseImage, multiArchSkipReason } from '../helpers/base-image.js';
import { buildSkipReason } from '../helpers/build.js';
import { runCli } from '../helpers/cli.js';
import { registryMissing, run, skopeoMissing, startRegistry, type TestRegistry } from '../helpers/registry.js';

const UNAME: Record<string, string> = { amd64: 'x86_64', arm64: 'aarch64' };
const host = hostPlatform().architecture;
const other = host === 'amd64' ? 'arm64' : 'amd64';
const qemuEntry = `/proc/sys/fs/binfmt_misc/qemu-${UNAME[other]}`;
const emulationSkip = existsSync(qemuEntry) ? false : `${qemuEntry} is not registered: RUN steps for linux/${other} need QEMU (scripts/install-system-deps.sh installs and registers it)`;
const umociMissing = (process.env.PATH ?? '').split(':').some((d) => d && existsSync(path.join(d, 'umoci'))) ? false : 'umoci is not installed (scripts/install-system-deps.sh)';
const skip = buildSkipReason() || registryMissing || skopeoMissing || umociMissing || multiArchSkipReason();

describe('mybuild build --platform linux/amd64,linux/arm64 against a registry', { skip }, () => {
  let reg: TestRegistry;
  let tmp: string;
  let env: NodeJS.ProcessEnv;
  let n = 0;
  const ctx = async (files: Record<string, string>): Promise<string> => {
    const dir = path.join(tmp, `ctx-${++n}`);
    await mkdir(dir, { recursive: true });
    for (const [f, text] of Object.entries(files)) await writeFile(path.join(dir, f), text);
    return dir;
  };
  /** The pushed image `name` for `arch`, copied back by skopeo and unpacked by umoci: its rootfs. */
  const unpack = async (name: string, arch: string): Promise<string> => {
    const dir = path.join(tmp, `back-${++n}`);
    await mkdir(dir, { recursive: true });
    await run('skopeo', ['copy', '--src-tls-verify=false', '--override-os', 'linux', '--override-arch', arch, `docker://${name}`, `oci:${dir}/oci:img`]);
    await run('umoci', ['unpack', '--image', `${dir}/oci:img`, `${dir}/bundle`]);
    return path.join(dir, 'bundle', 'rootfs');
  };
  const rawIndex = async (name: string): Promise<Index> => JSON.parse(await run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${name}`])) as Index;

  before(async () => {
    reg = await startRegistry('anonymous');
    tmp = await mkdtemp(path.join(os.tmpdir(), 'mybuild-multiplatform-'));
    // buildx's default provenance on --push (test/registry/provenance-e2e.test.ts) left out: these tests look at the image itself.
    env = { PATH: process.env.PATH, HOME: tmp, DOCKER_CONFIG: path.join(tmp, 'docker'), BUILDX_NO_DEFAULT_ATTESTATIONS: '1' };
    await run('skopeo', ['copy', '--all', '--dest-tls-verify=false', `oci:${await ensureMultiArchBaseImage()}:latest`, `docker://${reg.domain}/busybox:multi`]);
  });
  after(async () => {
    await reg?.stop();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('--push publishes one index with both platforms; each image holds its own uname -m (x86_64 / aarch64)', { skip: emulationSkip }, async (t) => {
    const root = path.join(tmp, 'root');
    const name = `${reg.domain}/app:1`;
    const dir = await ctx({ Dockerfile: `FROM ${reg.domain}/busybox:multi\nRUN uname -m > /arch\n` });
    const t0 = Date.now();
    const r = await runCli(['--root', root, 'build', '--progress', 'plain', '--platform', 'linux/amd64,linux/arm64', '--push', '-t', name, dir], { env });
    const multiMs = Date.now() - t0;
    assert.equal(r.code, 0, r.err + r.out);
    // BuildKit's step labels: the platform before the stage.
    assert.match(r.err, /\[linux\/amd64 stage-0 2\/2\] RUN uname -m > \/arch/);
    assert.match(r.err, /\[linux\/arm64 stage-0 2\/2\] RUN uname -m > \/arch/);
    const index = await rawIndex(name);
    assert.equal(index.mediaType, 'application/vnd.oci.image.index.v1+json');
    assert.deepEqual(index.manifests.map((m) => m.platform), [{ os: 'linux', architecture: 'amd64' }, { os: 'linux', architecture: 'arm64' }]);
    for (const arch of ['amd64', 'arm64']) {
      const rootfs = await unpack(name, arch);
      assert.equal((await readFile(path.join(rootfs, 'arch'), 'utf8')).trim(), UNAME[arch], `${arch}: /arch`);
      const elf = await readFile(path.join(rootfs, 'bin', 'busybox'));
      assert.equal(elf.readUInt16LE(18), arch === 'amd64' ? 62 : 183, `${arch}: /bin/busybox's ELF machine`);
    }
    // The local name is the index too.
    const inspect = await runCli(['--root', root, 'inspect', name], { env });
    assert.equal(inspect.code, 0, inspect.err);

    // mybuild run --platform linux/arm64 of the pushed index, from an empty store: pulls that entry, runs it under emulation.
    const ran = await runCli(['--root', path.join(tmp, 'root-run'), 'run', '--rm', '--platform', 'linux/arm64', name, 'cat', '/arch'], { env });
    assert.equal(ran.code, 0, ran.err);
    assert.equal(ran.out.trim(), 'aarch64');
    // pull --platform picks the entry from the index.
    const pullRoot = path.join(tmp, 'root-pull');
    const pulled = await runCli(['--root', pullRoot, 'pull', '--platform', `linux/${other}`, name], { env });
    assert.equal(pulled.code, 0, pulled.err);
    const arch = await runCli(['--root', pullRoot, 'inspect', name], { env });
    assert.equal((JSON.parse(arch.out) as { Architecture: string }[])[0].Architecture, other);

    // The same Dockerfile for one platform, for the timing in the report.
    const t1 = Date.now();
    const one = await runCli(['--root', path.join(tmp, 'root-single'), 'build', '-q', '--platform', `linux/${host}`, '--push', '-t', `${reg.domain}/app:single`, dir], { env });
    assert.equal(one.code, 0, one.err);
    t.diagnostic(`two platforms: ${multiMs} ms; one platform (${host}): ${Date.now() - t1} ms (both from an empty store, pull and push included)`);
  });

  it('a cross-compiling Dockerfile runs its FROM --platform=$BUILDPLATFORM stage natively once per platform, with TARGETARCH of each', async () => {
    const root = path.join(tmp, 'root-cross');
    const name = `${reg.domain}/cross:1`;
    const dir = await ctx({
      Dockerfile: [
        `FROM --platform=$BUILDPLATFORM ${reg.domain}/busybox:multi AS build`,
        'ARG TARGETPLATFORM TARGETOS TARGETARCH TARGETVARIANT BUILDPLATFORM BUILDOS BUILDARCH',
        'RUN echo "ran on $(uname -m) ($BUILDPLATFORM $BUILDOS $BUILDARCH) for $TARGETPLATFORM $TARGETOS $TARGETARCH [$TARGETVARIANT]" > /out',
        `FROM ${reg.domain}/busybox:multi`,
        'COPY --from=build /out /out',
        '',
      ].join('\n'),
    });
    const r = await runCli(['--root', root, 'build', '--progress', 'plain', '--platform', 'linux/amd64,linux/arm64', '--output', `type=registry,name=${name}`, dir], { env });
    assert.equal(r.code, 0, r.err + r.out);
    // The build stage's RUN ran (not from the cache) once for each platform.
    assert.equal(r.err.match(/^#\d+ \[linux\/(amd64|arm64) build 3\/3\] RUN echo/gm)?.length, 2, r.err);
    assert.doesNotMatch(r.err, /build 3\/3\] RUN[^\n]*\n#\d+ CACHED/);
    const index = await rawIndex(name);
    assert.deepEqual(index.manifests.map((m) => m.platform?.architecture), ['amd64', 'arm64']);
    for (const arch of ['amd64', 'arm64']) {
      const out = await readFile(path.join(await unpack(name, arch), 'out'), 'utf8');
      assert.equal(out.trim(), `ran on ${UNAME[host]} (linux/${host} linux ${host}) for linux/${arch} linux ${arch} []`);
    }
  });

  it('--pull refreshes every platform\'s base and leaves the base\'s name on the host\'s image', async () => {
    const root = path.join(tmp, 'root-pull-multi');
    const dir = await ctx({ Dockerfile: `FROM ${reg.domain}/busybox:multi\nCOPY f /f\n`, f: 'f\n' });
    // The host's platform listed first and last: either way the name ends on the host's image.
    for (const list of [`linux/${host},linux/${other}`, `linux/${other},linux/${host}`]) {
      const r = await runCli(['--root', root, 'build', '-q', '--pull', '--platform', list, '-t', 'pulled:1', dir], { env });
      assert.equal(r.code, 0, r.err);
      const base = await runCli(['--root', root, 'inspect', `${reg.domain}/busybox:multi`], { env });
      assert.equal((JSON.parse(base.out) as { Architecture: string }[])[0].Architecture, host, list);
      const index = JSON.parse((await runCli(['--root', root, 'inspect', 'pulled:1'], { env })).out) as { Manifests: { ImageData: { Platform: { architecture: string } } }[] }[];
      assert.deepEqual(index[0].Manifests.map((m) => `linux/${m.ImageData.Platform.architecture}`).join(','), list, 'the index keeps the order given');
    }
  });

  it('--format docker pushes a Docker manifest list; --output type=oci writes the index', async () => {
    const root = path.join(tmp, 'root-docker');
    const name = `${reg.domain}/list:1`;
    const oci = path.join(tmp, 'layout');
    const dir = await ctx({ Dockerfile: `FROM ${reg.domain}/busybox:multi\nCOPY f /f\n`, f: 'f\n' });
    const r = await runCli(['--root', root, 'build', '-q', '--format', 'docker', '--platform', 'linux/arm64,linux/amd64', '--push', '-t', name, '--output', `type=oci,dest=${oci},tar=false`, dir], { env });
    assert.equal(r.code, 0, r.err);
    const list = await rawIndex(name);
    assert.equal(list.mediaType, 'application/vnd.docker.distribution.manifest.list.v2+json');
    assert.deepEqual(list.manifests.map((m) => [m.mediaType, m.platform?.architecture]), [
      ['application/vnd.docker.distribution.manifest.v2+json', 'arm64'],
      ['application/vnd.docker.distribution.manifest.v2+json', 'amd64'],
    ]);
    const layout = JSON.parse(await readFile(path.join(oci, 'index.json'), 'utf8')) as Index;
    assert.equal(layout.manifests.length, 1);
    assert.equal(layout.manifests[0].mediaType, 'application/vnd.docker.distribution.manifest.list.v2+json');
    assert.match(r.out.trim(), /^sha256:[0-9a-f]{64}$/, '-q prints the index digest');
    const served = await fetch(`http://${reg.domain}/v2/list/manifests/1`, { method: 'HEAD', headers: { accept: 'application/vnd.docker.distribution.manifest.list.v2+json' } });
    assert.equal(layout.manifests[0].digest, served.headers.get('docker-content-digest'), 'the layout holds the list the registry serves (compressed layers, as pushed)');
    // The layout holds the list and both platforms' images (Debian's skopeo does not read a
    // nested list out of an OCI layout, so the blobs are read here).
    const blob = async (d: string) => JSON.parse(await readFile(path.join(oci, 'blobs', 'sha256', d.slice(7)), 'utf8')) as Index & { config: { digest: string } };
    const nested = await blob(layout.manifests[0].digest);
    assert.deepEqual(nested.manifests, list.manifests);
    for (const m of nested.manifests) {
      const cfg = (await blob((await blob(m.digest)).config.digest)) as unknown as { architecture: string };
      assert.equal(cfg.architecture, m.platform?.architecture);
    }
  });
});

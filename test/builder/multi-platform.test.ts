/**
 * Multi-platform builds (src/builder/multi-platform.ts) on the multi-platform fixture base
 * (scripts/make-busybox-multiarch.sh: Debian's busybox-static of amd64 and arm64 as one index),
 * with RUN steps of the foreign platform under QEMU user emulation registered with binfmt_misc
 * (scripts/install-system-deps.sh). The emulated parts are skipped, saying why, when the
 * emulator is not registered.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, open, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { checkHostCanRun } from '../../src/builder/platform-check.js';
import { isIndexType } from '../../src/image/manifest.js';
import { parseDockerfile } from '../../src/parser/index.js';
import { buildPlan } from '../../src/plan/index.js';
import type { ImageConfig, Index, Manifest } from '../../src/oci/types.js';
import { hostPlatform } from '../../src/oci/platform.js';
import { ImageStore } from '../../src/store/image-store.js';
import { multiArchSkipReason } from '../helpers/base-image.js';
import { buildSkipReason, cleanupTemp, loadMultiArchBase, storeProblems, tempDir, writeContext } from '../helpers/build.js';
import { runCli } from '../helpers/cli.js';
import { startTestDaemon } from '../daemon/helpers.js';

const host = hostPlatform().architecture;
const other = host === 'amd64' ? 'arm64' : 'amd64';
/** `uname -m` and the ELF e_machine of each architecture. */
const UNAME: Record<string, string> = { amd64: 'x86_64', arm64: 'aarch64' };
const ELF_MACHINE: Record<string, number> = { amd64: 62, arm64: 183 };
const qemuEntry = `/proc/sys/fs/binfmt_misc/qemu-${UNAME[other]}`;
/** Why RUN steps for the other architecture cannot run here, or false. */
export const emulationSkipReason: string | false = existsSync(qemuEntry)
  ? false
  : `${qemuEntry} is not registered: install qemu-user-static and register it (scripts/install-system-deps.sh)`;

const skip = buildSkipReason() || multiArchSkipReason();

async function elfMachine(file: string): Promise<number> {
  const fh = await open(file, 'r');
  try {
    const b = Buffer.alloc(20);
    await fh.read(b, 0, 20, 0);
    assert.equal(b.subarray(0, 4).toString('latin1'), '\x7fELF', `${file} is not an ELF file`);
    return b.readUInt16LE(18);
  } finally {
    await fh.close();
  }
}

describe('the multi-platform fixture base', { skip }, () => {
  let root: string;
  before(async () => {
    root = await tempDir('mybuild-root-');
    await loadMultiArchBase(root, 'docker.io/library/busybox:latest');
  });
  after(cleanupTemp);

  it('is one index with a linux/amd64 and a linux/arm64 image, each config and busybox binary of its architecture', async () => {
    const store = await ImageStore.open(root);
    const ref = (await store.listRefs()).find((r) => r.name === 'docker.io/library/busybox:latest')!;
    assert.ok(isIndexType(ref.descriptor.mediaType), ref.descriptor.mediaType);
    const index = JSON.parse((await store.content.readBytes(ref.descriptor.digest)).toString()) as Index;
    assert.deepEqual(index.manifests.map((m) => m.platform), [{ architecture: 'amd64', os: 'linux' }, { architecture: 'arm64', os: 'linux' }]);
    for (const arch of ['amd64', 'arm64']) {
      const m = index.manifests.find((d) => d.platform?.architecture === arch)!;
      const manifest = JSON.parse((await store.content.readBytes(m.digest)).toString()) as Manifest;
      const config = JSON.parse((await store.content.readBytes(manifest.config.digest)).toString()) as ImageConfig;
      assert.equal(config.architecture, arch);
      // The binary itself: exported with --output type=local from a build with no RUN.
      const out = await tempDir('mybuild-out-');
      const r = await runCli(['--root', root, 'build', '-q', '--platform', `linux/${arch}`, '--output', `type=local,dest=${out}`, await writeContext({ Dockerfile: 'FROM busybox\n' })]);
      assert.equal(r.code, 0, r.err);
      assert.equal(await elfMachine(path.join(out, 'bin/busybox')), ELF_MACHINE[arch], arch);
    }
  });

  it(`a RUN for linux/${other} runs under QEMU (binfmt_misc): uname -m says ${UNAME[other]}`, { skip: emulationSkipReason }, async () => {
    const out = await tempDir('mybuild-out-');
    const r = await runCli(['--root', root, 'build', '-q', '--platform', `linux/${other}`, '--output', `type=local,dest=${out}`, await writeContext({ Dockerfile: 'FROM busybox\nRUN uname -m > /arch\n' })]);
    assert.equal(r.code, 0, r.err);
    assert.equal((await readFile(path.join(out, 'arch'), 'utf8')).trim(), UNAME[other]);
  });
});

describe('multi-platform builds in the store', { skip }, () => {
  let root: string;
  before(async () => {
    root = await tempDir('mybuild-root-');
    await loadMultiArchBase(root, 'docker.io/library/busybox:latest');
  });
  after(cleanupTemp);
  const cli = async (...args: string[]) => runCli(['--root', root, ...args]);

  it('-t names one index with an entry per platform (deduplicated, BuildKit\'s spellings), TARGET* per platform; inspect lists its platforms; run --platform and save/load use it; --output type=local splits by platform', { skip: emulationSkipReason }, async () => {
    const dir = await writeContext({ Dockerfile: 'FROM busybox\nARG TARGETPLATFORM TARGETARCH\nRUN echo "$(uname -m) $TARGETPLATFORM $TARGETARCH" > /arch\n' });
    const r = await cli('build', '--progress', 'plain', '--platform', 'linux/amd64,linux/arm64/v8,linux/aarch64', '-t', 'multi:1', dir);
    assert.equal(r.code, 0, r.err);
    const store = await ImageStore.open(root);
    const ref = (await store.listRefs()).find((x) => x.name === 'docker.io/library/multi:1')!;
    assert.ok(isIndexType(ref.descriptor.mediaType));
    const index = JSON.parse((await store.content.readBytes(ref.descriptor.digest)).toString()) as Index;
    assert.deepEqual(index.manifests.map((m) => m.platform), [{ os: 'linux', architecture: 'amd64' }, { os: 'linux', architecture: 'arm64' }]);
    for (const arch of ['amd64', 'arm64']) {
      const img = await store.resolve('multi:1', { os: 'linux', architecture: arch });
      assert.equal(img.config.architecture, arch);
    }
    // inspect lists the platforms (Docker API 1.48's Manifests); the rest is the host's image.
    const insp = await cli('inspect', 'multi:1');
    assert.equal(insp.code, 0, insp.err);
    const doc = (JSON.parse(insp.out) as { Architecture: string; Descriptor: { digest: string }; Manifests: { ID: string; Available: boolean; ImageData: { Platform: unknown } }[] }[])[0];
    assert.equal(doc.Descriptor.digest, ref.descriptor.digest);
    assert.equal(doc.Architecture, host);
    assert.deepEqual(doc.Manifests.map((m) => [m.ID, m.Available, m.ImageData.Platform]), index.manifests.map((m) => [m.digest, true, m.platform]));
    // run --platform picks the entry (the foreign one under emulation); without it, the host's.
    const runArch = async (...args: string[]) => {
      const x = await cli('run', '--rm', ...args, 'multi:1', 'cat', '/arch');
      assert.equal(x.code, 0, x.err);
      return x.out.trim();
    };
    assert.equal(await runArch('--platform', 'linux/arm64'), 'aarch64 linux/arm64 arm64');
    assert.equal(await runArch('--platform', 'linux/amd64'), 'x86_64 linux/amd64 amd64');
    assert.equal(await runArch(), `${UNAME[host]} linux/${host} ${host}`);
    const none = await cli('run', '--rm', '--platform', 'linux/s390x', 'multi:1', 'true');
    assert.notEqual(none.code, 0);
    assert.match(none.err, /has no image for linux\/s390x/);
    assert.match(none.err, /it has: linux\/amd64, linux\/arm64/);

    // save / load keep the index: a fresh store runs both platforms of the loaded image.
    const tar = path.join(await tempDir('mybuild-save-'), 'multi.tar');
    const saved = await cli('save', '-o', tar, 'multi:1');
    assert.equal(saved.code, 0, saved.err);
    const root2 = await tempDir('mybuild-root-');
    const loaded = await runCli(['--root', root2, 'load', '-i', tar]);
    assert.equal(loaded.code, 0, loaded.err);
    const ref2 = (await (await ImageStore.open(root2)).listRefs()).find((x) => x.name === 'docker.io/library/multi:1')!;
    assert.ok(isIndexType(ref2.descriptor.mediaType), 'load kept the index');
    const arm = await runCli(['--root', root2, 'run', '--rm', '--platform', 'linux/arm64', 'multi:1', 'cat', '/arch']);
    assert.equal(arm.out.trim(), 'aarch64 linux/arm64 arm64', arm.err);

    const out = await tempDir('mybuild-out-');
    const l = await cli('build', '-q', '--platform', 'linux/amd64,linux/arm64', '--output', `type=local,dest=${out}`, dir);
    assert.equal(l.code, 0, l.err);
    assert.equal((await readFile(path.join(out, 'linux_amd64', 'arch'), 'utf8')).trim(), 'x86_64 linux/amd64 amd64');
    assert.equal((await readFile(path.join(out, 'linux_arm64', 'arch'), 'utf8')).trim(), 'aarch64 linux/arm64 arm64');
  });

  it('FROM --platform picks that entry of the index and runs the stage for it, without --platform', { skip: emulationSkipReason }, async () => {
    const out = await tempDir('mybuild-out-');
    const r = await cli('build', '-q', '--output', `type=local,dest=${out}`, await writeContext({ Dockerfile: `FROM --platform=linux/${other} busybox\nRUN uname -m > /arch\n` }));
    assert.equal(r.code, 0, r.err);
    assert.equal((await readFile(path.join(out, 'arch'), 'utf8')).trim(), UNAME[other]);
    assert.equal(await elfMachine(path.join(out, 'bin/busybox')), ELF_MACHINE[other]);
    // A platform the base lacks is an error at the FROM.
    const bad = await cli('build', '-q', await writeContext({ Dockerfile: 'FROM --platform=linux/s390x busybox\nCOPY Dockerfile /d\n' }));
    assert.equal(bad.code, 3, bad.err);
    assert.match(bad.err, /Dockerfile:1:1: base image busybox has no image for the requested platform linux\/s390x/);
  });

  it('builds the platforms side by side (one per core), the steps numbered and the index ordered as --platform lists them; a platform-independent step runs once', { skip: emulationSkipReason || (os.availableParallelism() < 2 ? 'one core: the platforms build one after the other' : false) }, async () => {
    type Ev = { type: string; step?: number; hit?: boolean; info?: { stage: string; instruction: string }; steps?: { step: number; stage: string }[] };
    const buildJson = async (parallelism: string | undefined, mark: string) => {
      const dir = await writeContext({ Dockerfile: `FROM --platform=$BUILDPLATFORM busybox AS tools\nRUN echo ${mark} > /t\nFROM busybox\nCOPY --from=tools /t /t\nRUN sleep 1; uname -m > /arch\n` });
      const saved = process.env.MYBUILD_PLATFORM_PARALLELISM;
      if (parallelism === undefined) delete process.env.MYBUILD_PLATFORM_PARALLELISM;
      else process.env.MYBUILD_PLATFORM_PARALLELISM = parallelism;
      try {
        // The foreign platform first: the index and the numbers follow this order, not the host-first start.
        const r = await cli('build', '--progress', 'json', '--platform', `linux/${other},linux/${host}`, '-t', `side:${mark}`, dir);
        assert.equal(r.code, 0, r.err);
        return r.out.trim().split('\n').map((l) => JSON.parse(l) as Ev);
      } finally {
        if (saved === undefined) delete process.env.MYBUILD_PLATFORM_PARALLELISM;
        else process.env.MYBUILD_PLATFORM_PARALLELISM = saved;
      }
    };
    const sleeps = (ev: Ev[]) => {
      const starts = ev.filter((e) => e.type === 'step-start' && e.info!.instruction.startsWith('RUN sleep'));
      return starts.map((s) => ({ stage: s.info!.stage, step: s.step!, start: ev.indexOf(s), end: ev.findIndex((e) => e.type === 'step-end' && e.step === s.step) }));
    };
    const ev = await buildJson(undefined, 'side');
    const runs = sleeps(ev);
    assert.deepEqual(runs.map((r) => r.stage).sort(), [`linux/${host} stage-1`, `linux/${other} stage-1`].sort());
    // Side by side: each platform's RUN started before the other's ended.
    assert.ok(runs[1].start < runs[0].end && runs[0].start < runs[1].end, JSON.stringify(runs));
    // Numbered in the start order (the host's leads), whichever platform ends first.
    const starts = ev.filter((e) => e.type === 'build-start').flatMap((e) => e.steps!);
    assert.deepEqual(starts.map((s) => s.step), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert.deepEqual(starts.map((s) => s.stage.split(' ')[0]), [...Array(5).fill(`linux/${host}`), ...Array(5).fill(`linux/${other}`)]);
    // The tools stage (the build platform's) ran once: one platform built it, the other hit it.
    const toolSteps = ev.filter((e) => e.type === 'step-start' && e.info!.instruction === 'RUN echo side > /t').map((e) => e.step);
    assert.deepEqual(ev.filter((e) => e.type === 'step-cache' && toolSteps.includes(e.step)).map((e) => e.hit).sort(), [false, true]);
    const store = await ImageStore.open(root);
    const ref = (await store.listRefs()).find((x) => x.name === 'docker.io/library/side:side')!;
    const index = JSON.parse((await store.content.readBytes(ref.descriptor.digest)).toString()) as Index;
    assert.deepEqual(index.manifests.map((m) => m.platform!.architecture), [other, host]);

    // MYBUILD_PLATFORM_PARALLELISM=1: one after the other, the same numbers; the host's steps are shown as they run.
    const seqEv = await buildJson('1', 'seq');
    const seq = sleeps(seqEv);
    assert.ok(seq[0].end < seq[1].start, JSON.stringify(seq));
    assert.deepEqual(seqEv.filter((e) => e.type === 'build-start').flatMap((e) => e.steps!).map((s) => s.step), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('images shows an index as one image; --tree lists its platforms under it, daemonless and through -H', async () => {
    const dir = await writeContext({ Dockerfile: 'FROM busybox\nCOPY Dockerfile /tree\n' });
    const b = await cli('build', '-q', '--platform', 'linux/amd64,linux/arm64', '-t', 'tree:1', dir);
    assert.equal(b.code, 0, b.err);
    const store = await ImageStore.open(root);
    const ref = (await store.listRefs()).find((x) => x.name === 'docker.io/library/tree:1')!;
    const index = JSON.parse((await store.content.readBytes(ref.descriptor.digest)).toString()) as Index;
    const short = (d: string) => d.slice('sha256:'.length, 'sha256:'.length + 12);
    const d = await startTestDaemon({ root });
    try {
      for (const via of [[], ['-H', d.host]]) {
        const plain = await runCli([...via, '--root', root, 'images', 'tree']);
        assert.equal(plain.code, 0, plain.err);
        assert.equal(plain.out.trim().split('\n').length, 2, `one row:\n${plain.out}`);
        const tree = await runCli([...via, '--root', root, 'images', '--tree', 'tree']);
        assert.equal(tree.code, 0, tree.err);
        const lines = tree.out.trimEnd().split('\n');
        assert.match(lines[0], /^IMAGE +ID +DISK USAGE +CONTENT SIZE$/);
        assert.match(lines[1], new RegExp(`^tree:1 +${short(ref.descriptor.digest)} +\\S+ +\\S+$`), tree.out);
        assert.match(lines[2], new RegExp(`^├─ linux/amd64 +${short(index.manifests[0].digest)} +\\d`), tree.out);
        assert.match(lines[3], new RegExp(`^└─ linux/arm64 +${short(index.manifests[1].digest)} +\\d`), tree.out);
        assert.equal(lines.length, 4, tree.out);
        const refused = await runCli([...via, '--root', root, 'images', '--tree', '-q']);
        assert.equal(refused.code, 2, refused.err);
        assert.match(refused.err, /--quiet cannot be combined with --tree/);
      }
    } finally {
      await d.stop();
    }
  });

  it('--iidfile and --metadata-file give the index; a failing platform fails the build, names nothing and leaves the store consistent', async () => {
    const dir = await writeContext({ Dockerfile: 'FROM busybox\nCOPY Dockerfile /d\n' });
    const meta = path.join(dir, '..', `meta-${path.basename(dir)}.json`);
    const iid = path.join(dir, '..', `iid-${path.basename(dir)}`);
    const ok = await cli('build', '-q', '--platform', 'linux/amd64,linux/arm64', '--iidfile', iid, '--metadata-file', meta, '-t', 'ids:1', dir);
    assert.equal(ok.code, 0, ok.err);
    const store = await ImageStore.open(root);
    const ref = (await store.listRefs()).find((x) => x.name === 'docker.io/library/ids:1');
    assert.ok(ref && isIndexType(ref.descriptor.mediaType));
    assert.equal(await readFile(iid, 'utf8'), ref.descriptor.digest);
    assert.equal(ok.out.trim(), ref.descriptor.digest);
    const m = JSON.parse(await readFile(meta, 'utf8')) as Record<string, unknown>;
    assert.equal(m['containerimage.digest'], ref.descriptor.digest);
    assert.deepEqual((m['mybuild.platforms'] as { platform: string }[]).map((p) => p.platform), ['linux/amd64', 'linux/arm64']);

    // The second platform fails (the base has no linux/386) after the first was built.
    const bad = await cli('build', '--progress', 'plain', '--platform', `linux/${host},linux/386`, '-t', 'bad:1', dir);
    assert.equal(bad.code, 3, bad.err);
    assert.match(bad.err, /Dockerfile:1:1: base image busybox has no image for the requested platform linux\/386/);
    assert.match(bad.err, /failed step: #\d+ \[linux\/386 stage-0 1\/2\] FROM busybox/);
    assert.equal((await store.listRefs()).find((x) => x.name === 'docker.io/library/bad:1'), undefined, 'no name for a failed build');
    assert.deepEqual(await storeProblems(root), []);
  });

  it('--cache-to writes one cache with every platform: a fresh store building from it hits every step of both', async () => {
    const dir = await writeContext({ Dockerfile: 'FROM busybox\nARG TARGETARCH\nCOPY f /f\nCOPY g /$TARGETARCH\n', f: 'f\n', g: 'g\n' });
    const cache = path.join(await tempDir('mybuild-cache-'), 'c');
    const first = await cli('build', '-q', '--platform', 'linux/amd64,linux/arm64', '--cache-to', `type=local,dest=${cache}`, dir);
    assert.equal(first.code, 0, first.err);
    const root2 = await tempDir('mybuild-root-');
    await loadMultiArchBase(root2, 'docker.io/library/busybox:latest');
    const again = await runCli(['--root', root2, 'build', '--progress', 'plain', '--platform', 'linux/amd64,linux/arm64', '--cache-from', `type=local,src=${cache}`, '-t', 'fromcache:1', dir]);
    assert.equal(again.code, 0, again.err);
    for (const p of ['amd64', 'arm64']) {
      for (const step of ['3/4] COPY f /f', '4/4] COPY g /$TARGETARCH']) {
        // The platforms build side by side, so another platform's lines may come between a step's.
        const id = new RegExp(`#(\\d+) \\[linux/${p} stage-0 ${step.replace(/[[\]/$]/g, '\\$&')}\\n`).exec(again.err)?.[1];
        assert.ok(id !== undefined && again.err.includes(`\n#${id} CACHED`), `${p} ${step}\n${again.err}`);
      }
    }
  });

  it('--output type=tar and type=local write a directory per platform; platform-split=false merges them at the top', async () => {
    const dir = await writeContext({ Dockerfile: 'FROM busybox\nARG TARGETARCH\nCOPY Dockerfile /$TARGETARCH\n' });
    const out = await tempDir('mybuild-out-');
    const r = await cli('build', '-q', '--platform', 'linux/amd64,linux/arm64', '--output', `type=tar,dest=${out}/split.tar`, '--output', `type=local,dest=${out}/flat,platform-split=false`, dir);
    assert.equal(r.code, 0, r.err);
    const names = execFileSync('tar', ['-tf', path.join(out, 'split.tar')]).toString().split('\n');
    for (const a of ['amd64', 'arm64']) assert.ok(names.includes(`./linux_${a}/${a}`), `linux_${a}/${a} in ${names.filter((n) => !n.includes('/bin/') && !n.includes('/usr/')).join(' ')}`);
    assert.ok(existsSync(path.join(out, 'flat', 'amd64')) && existsSync(path.join(out, 'flat', 'arm64')), 'both platforms at the top');
    assert.ok(!existsSync(path.join(out, 'flat', 'linux_amd64')));
  });

  it('what a multi-platform build cannot do is refused by name before it runs', async () => {
    const dir = await writeContext({ Dockerfile: 'FROM busybox\nCOPY Dockerfile /d\n' });
    const cases: [string[], RegExp][] = [
      [['--output', 'type=docker,dest=x.tar'], /--output type=docker cannot hold several platforms \(--platform linux\/amd64,linux\/arm64\)/],
      [['--output', 'type=image,name=x:1,compression=zstd'], /--output type=image,compression=… with several platforms .* is not supported yet/],
      [['--push'], /--push needs at least one -t name to push to/],
    ];
    for (const [args, re] of cases) {
      const r = await cli('build', '-q', '--platform', 'linux/amd64,linux/arm64', ...args, dir);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
      assert.match(r.err, re, args.join(' '));
    }
  });
});

describe('a foreign RUN without an emulator', () => {
  it('is refused at the RUN, naming the binfmt_misc emulator that is missing', async () => {
    const text = `FROM --platform=$BUILDPLATFORM busybox AS build\nRUN true\nFROM busybox\nRUN uname -m\n`;
    const { ast } = parseDockerfile(text, { file: 'Dockerfile' });
    const plan = buildPlan(ast, { platform: { os: 'linux', architecture: other }, text });
    const empty = await mkdtemp(path.join(os.tmpdir(), 'mybuild-binfmt-'));
    const platformOf = (s: (typeof plan.stages)[number]) => (s.platform ? hostPlatform() : { os: 'linux', architecture: other });
    assert.throws(
      () => checkHostCanRun(plan, platformOf, (range) => ({ file: 'Dockerfile', range, text }), empty),
      (err: Error & { source?: { range: { start: { line: number } } }; hint?: string }) => {
        assert.match(err.message, new RegExp(`RUN for platform linux/${other} cannot run on this host \\(linux/${host}\\): no binfmt_misc emulator qemu-${UNAME[other]} is registered`));
        // The native build stage (line 2) is fine; the target stage's RUN (line 4) is the one refused.
        assert.equal(err.source?.range.start.line, 4);
        assert.match(err.hint ?? '', /install qemu-user-static and register it/);
        return true;
      },
    );
  });
});

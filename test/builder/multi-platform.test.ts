/**
 * Multi-platform builds (src/builder/multi-platform.ts) on the multi-platform fixture base
 * (scripts/make-busybox-multiarch.sh: Debian's busybox-static of amd64 and arm64 as one index),
 * with RUN steps of the foreign platform under QEMU user emulation registered with binfmt_misc
 * (scripts/install-system-deps.sh). The emulated parts are skipped, saying why, when the
 * emulator is not registered.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isIndexType } from '../../src/image/manifest.js';
import type { ImageConfig, Index, Manifest } from '../../src/image/types.js';
import { hostPlatform } from '../../src/oci/platform.js';
import { ImageStore } from '../../src/store/image-store.js';
import { multiArchSkipReason } from '../helpers/base-image.js';
import { buildSkipReason, cleanupTemp, loadMultiArchBase, tempDir, writeContext } from '../helpers/build.js';
import { runCli } from '../helpers/cli.js';

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
    const { readFile } = await import('node:fs/promises');
    assert.equal((await readFile(path.join(out, 'arch'), 'utf8')).trim(), UNAME[other]);
  });
});

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { lstat, mkdtemp, readFile, readlink, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { baseImageScript, baseImageSkipReason, ensureBaseImage } from '../helpers/base-image.js';

const run = promisify(execFile);

function onPath(tool: string): boolean {
  return (process.env.PATH ?? '').split(path.delimiter).some((d) => d && existsSync(path.join(d, tool)));
}

function skipReason(): string | false {
  const base = baseImageSkipReason();
  if (base) return base;
  if (process.getuid?.() !== 0) return 'umoci unpack needs root';
  for (const t of ['skopeo', 'umoci']) if (!onPath(t)) return `${t} is not installed (scripts/install-system-deps.sh)`;
  return false;
}

describe('scripts/make-busybox-base.sh', { skip: skipReason() }, () => {
  it('is reproducible and makes a layout skopeo and umoci accept', async () => {
    const tmp = await mkdtemp(path.join(os.tmpdir(), 'mybuild-base-'));
    try {
      const a = await run('bash', [baseImageScript, path.join(tmp, 'a')]);
      const b = await run('bash', [baseImageScript, path.join(tmp, 'b')]);
      const da = a.stdout.trim().split('\n').pop()!;
      assert.match(da, /^sha256:[0-9a-f]{64}$/);
      assert.equal(b.stdout.trim().split('\n').pop(), da, 'same manifest digest on both runs');
      assert.equal(await readFile(path.join(tmp, 'a/index.json'), 'utf8'), await readFile(path.join(tmp, 'b/index.json'), 'utf8'));

      const { stdout } = await run('skopeo', ['inspect', `oci:${path.join(tmp, 'a')}:latest`]);
      const info = JSON.parse(stdout) as { Digest: string; Os: string; Env: string[]; Layers: string[]; Architecture: string };
      assert.equal(info.Digest, da);
      assert.equal(info.Os, 'linux');
      assert.deepEqual(info.Env, ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin']);
      assert.equal(info.Layers.length, 1);
      assert.ok(['amd64', 'arm64', 'arm', '386', 'ppc64le', 's390x', 'riscv64'].includes(info.Architecture));
      const config = JSON.parse((await run('skopeo', ['inspect', '--config', `oci:${path.join(tmp, 'a')}:latest`])).stdout) as { config: { Cmd: string[] } };
      assert.deepEqual(config.config.Cmd, ['sh']);

      const bundle = path.join(tmp, 'bundle');
      await run('umoci', ['unpack', '--image', `${path.join(tmp, 'a')}:latest`, bundle]);
      const rootfs = path.join(bundle, 'rootfs');
      assert.equal(await readlink(path.join(rootfs, 'bin/sh')), '/bin/busybox');
      assert.ok((await lstat(path.join(rootfs, 'bin/busybox'))).isFile());
      assert.match(await readFile(path.join(rootfs, 'etc/passwd'), 'utf8'), /^root:x:0:0:root:\/root:\/bin\/sh\nnobody:x:65534:/);
      assert.match(await readFile(path.join(rootfs, 'etc/group'), 'utf8'), /nogroup:x:65534:/);
      for (const f of ['etc/hosts', 'etc/hostname', 'etc/resolv.conf']) assert.equal((await stat(path.join(rootfs, f))).size, 0, f);
      assert.equal((await stat(path.join(rootfs, 'tmp'))).mode & 0o7777, 0o1777);
      assert.equal((await stat(path.join(rootfs, 'root'))).mode & 0o7777, 0o700);
      for (const d of ['dev', 'proc', 'sys', 'run', 'home', 'var']) assert.ok((await stat(path.join(rootfs, d))).isDirectory(), d);
      const hi = await run(path.join(rootfs, 'bin/busybox'), ['echo', 'hi']);
      assert.equal(hi.stdout, 'hi\n');
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  });

  it('ensureBaseImage builds once and returns the cached layout', async () => {
    const p1 = await ensureBaseImage();
    const p2 = await ensureBaseImage();
    assert.equal(p1, p2);
    assert.ok(existsSync(path.join(p1, 'index.json')));
    const index = JSON.parse(await readFile(path.join(p1, 'index.json'), 'utf8')) as { manifests: { annotations: Record<string, string> }[] };
    assert.equal(index.manifests[0]!.annotations['org.opencontainers.image.ref.name'], 'latest');
  });
});

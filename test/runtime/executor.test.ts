import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm, symlink, writeFile, unlink, readdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { randomBytes } from 'node:crypto';
import { BuildError } from '../../src/errors.js';
import { diffSnapshot } from '../../src/runtime/diff.js';
import { cleanupStale, resolveRuntime, RuncExecutor } from '../../src/runtime/executor.js';
import { execCapture } from '../../src/runtime/exec.js';
import { mountPointsUnder } from '../../src/runtime/mount.js';
import type { ExecSpec } from '../../src/runtime/spec.js';
import { createSnapshotter, type Snapshotter } from '../../src/runtime/snapshotter.js';

const BUSYBOX = '/bin/busybox';
const skip =
  process.getuid?.() !== 0
    ? 'needs root (mounts, runc)'
    : !existsSync(BUSYBOX)
      ? `${BUSYBOX} is absent (install busybox-static: scripts/install-system-deps.sh)`
      : await resolveRuntime('runc').then(
          () => false as const,
          () => 'runc is not installed (scripts/install-system-deps.sh)',
        );

const APPLETS = ['sh', 'echo', 'id', 'ls', 'cat', 'sleep', 'test', 'pwd', 'ps', 'touch'];

describe('RuncExecutor', { skip }, () => {
  let base: string;
  let sn: Snapshotter;
  let ex: RuncExecutor;
  let n = 0;

  before(async () => {
    base = await mkdtemp(path.join(os.tmpdir(), 'mybuild-exec-'));
    sn = await createSnapshotter(path.join(base, 'snapshots'));
    await sn.prepare('base-key');
    const dir = (await sn.layerDirs('base-key')).dir;
    for (const d of ['bin', 'etc', 'proc', 'sys', 'dev', 'tmp', 'root']) await mkdir(path.join(dir, d));
    await copyFile(BUSYBOX, path.join(dir, 'bin/busybox'));
    for (const a of APPLETS) await symlink('busybox', path.join(dir, 'bin', a));
    await writeFile(path.join(dir, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n');
    await sn.commit('base', 'base-key');
    ex = new RuncExecutor({ root: path.join(base, 'exec') });
  });

  after(async () => {
    if (!base) return;
    await cleanupStale(path.join(base, 'exec'));
    await sn?.cleanup({ all: true });
    await rm(base, { recursive: true, force: true });
  });

  async function run(args: string[], extra: Partial<ExecSpec> = {}, signal?: AbortSignal) {
    const key = `run-${n++}`;
    const mounts = await sn.prepare(key, 'base');
    const out = new PassThrough();
    const err = new PassThrough();
    const chunks: Buffer[] = [];
    const errChunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    err.on('data', (c: Buffer) => errChunks.push(c));
    const spec: ExecSpec = { args, env: [], cwd: '/', user: { uid: 0, gid: 0 }, hostname: 'buildhost', network: 'none', stdout: out, stderr: err, ...extra };
    const status = await ex.run(spec, mounts, signal);
    return { status, stdout: Buffer.concat(chunks).toString(), stderr: Buffer.concat(errChunks).toString(), key };
  }

  it('runs a command and captures stdout', async () => {
    const r = await run(['echo', 'hi']);
    assert.equal(r.stderr, '');
    assert.equal(r.stdout, 'hi\n');
    assert.equal(r.status.exitCode, 0);
  });

  it('propagates the exit code', async () => {
    const r = await run(['sh', '-c', 'echo oops >&2; exit 3']);
    assert.equal(r.status.exitCode, 3);
    assert.equal(r.stderr, 'oops\n');
  });

  it('applies env, cwd and user', async () => {
    const r = await run(['sh', '-c', 'echo "$FOO"; pwd; id -u; id -g; id -G'], { env: ['FOO=bar baz'], cwd: '/tmp', user: { uid: 65534, gid: 65534, additionalGids: [7] } });
    assert.equal(r.stdout, 'bar baz\n/tmp\n65534\n65534\n65534 7\n');
  });

  it('feeds stdin', async () => {
    const r = await run(['cat'], { stdin: Readable.from(['hello ', 'stdin']) });
    assert.equal(r.stdout, 'hello stdin');
  });

  it('tty mode gives the process a terminal', async () => {
    const r = await run(['sh', '-c', 'test -t 1 && echo is-a-tty'], { tty: true });
    assert.equal(r.status.exitCode, 0, r.stderr);
    assert.match(r.stdout, /is-a-tty/);
  });

  it('cannot see host files or processes; network none has only lo', async () => {
    const marker = `/root/mybuild-marker-${randomBytes(4).toString('hex')}`;
    await writeFile(marker, 'host');
    try {
      const r = await run(['sh', '-c', `test -e ${marker} && echo visible || echo absent; cat /proc/net/dev`]);
      const lines = r.stdout.split('\n');
      assert.equal(lines[0], 'absent');
      const ifaces = lines.slice(3).filter((l) => l.includes(':')).map((l) => l.split(':')[0].trim());
      assert.deepEqual(ifaces, ['lo']);
    } finally {
      await unlink(marker);
    }
    const ps = await run(['ls', '/proc']);
    assert.deepEqual(ps.stdout.split(/\s+/).filter((s) => /^\d+$/.test(s)), ['1'], 'only the process itself is visible');
  });

  it('provides /etc/hosts, /etc/resolv.conf and /etc/hostname without writing them to the snapshot', async () => {
    const r = await run(['sh', '-c', 'cat /etc/hostname /etc/hosts; test -f /etc/resolv.conf && echo resolv; touch /made-by-run']);
    assert.equal(r.status.exitCode, 0, r.stderr);
    assert.match(r.stdout, /^buildhost\n/);
    assert.match(r.stdout, /127\.0\.0\.1\tlocalhost/);
    assert.match(r.stdout, /resolv\n$/);
    const paths = (await diffSnapshot(sn, r.key)).map((e) => e.path).sort();
    assert.ok(paths.includes('made-by-run'), `the RUN's own change is in the diff: ${paths.join(', ')}`);
    for (const p of ['etc/hosts', 'etc/resolv.conf', 'etc/hostname']) assert.equal(paths.includes(p), false, `${p} is not in the diff`);
  });

  it('abort kills the container and cleans up', async () => {
    const ac = new AbortController();
    const t0 = Date.now();
    setTimeout(() => ac.abort(), 700);
    await assert.rejects(run(['sleep', '60'], {}, ac.signal), (e: unknown) => e instanceof BuildError && e.code === 'CANCELED');
    assert.ok(Date.now() - t0 < 15000);
    const list = await execCapture('runc', ['--root', path.join(base, 'exec', 'runc'), 'list', '-q']);
    assert.equal(list.stdout.toString().trim(), '', 'no containers left');
    assert.deepEqual(await mountPointsUnder(path.join(base, 'exec')), [], 'no mounts left');
    assert.deepEqual(await readdir(path.join(base, 'exec', 'bundles')), [], 'no bundles left');
  });

  it('a missing runtime is a RUNTIME error with an install hint', async () => {
    const bad = new RuncExecutor({ root: path.join(base, 'exec'), runtime: '/nonexistent/runc' });
    await assert.rejects(bad.run({ args: ['true'], env: [], cwd: '/', user: { uid: 0, gid: 0 }, hostname: 'h', network: 'none' }, []), (e: unknown) => e instanceof BuildError && e.code === 'RUNTIME' && e.hint === 'install it: apt-get install runc');
  });

  it('cleanupStale removes left-over mounts and bundles', async () => {
    const stale = path.join(base, 'exec', 'bundles', 'mybuild-stale', 'rootfs');
    await mkdir(stale, { recursive: true });
    await execCapture('mount', ['-t', 'tmpfs', 'tmpfs', stale]);
    assert.equal((await mountPointsUnder(stale)).length, 1);
    const snapMount = path.join(base, 'snapshots', 'stale-mnt');
    await mkdir(snapMount, { recursive: true });
    await execCapture('mount', ['-t', 'tmpfs', 'tmpfs', snapMount]);
    await cleanupStale(path.join(base, 'exec'), 'runc', [path.join(base, 'snapshots')]);
    assert.deepEqual(await mountPointsUnder(path.join(base, 'exec')), []);
    assert.deepEqual(await mountPointsUnder(path.join(base, 'snapshots')), []);
    assert.equal(existsSync(stale), false);
  });
});

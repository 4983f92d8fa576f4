import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { ContainerManager } from '../../src/containers/manager.js';
import { parseVolume, parseEnvFlags } from '../../src/containers/options.js';
import { validateName } from '../../src/containers/names.js';
import { BuildError, NotFoundError } from '../../src/errors.js';
import { execCapture } from '../../src/runtime/exec.js';
import { assertNoLeftovers, collect, makeRoot, skipReason, spawnCli, until } from './helpers.js';
import { repoRoot } from '../helpers/paths.js';

function sink(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (d: Buffer) => (text += d.toString()));
  return { stream, text: () => text };
}

describe('container options (pure)', () => {
  it('parseVolume', () => {
    assert.deepEqual(parseVolume('/a:/b'), { source: '/a', target: '/b', readonly: false });
    assert.deepEqual(parseVolume('/a:/b:ro'), { source: '/a', target: '/b', readonly: true });
    for (const bad of ['/a', 'a:/b', '/a:b', '/a:/b:zz', '/a:/b:ro:x', ':/b']) assert.throws(() => parseVolume(bad), BuildError, bad);
  });
  it('parseEnvFlags', () => {
    assert.deepEqual(parseEnvFlags(['A=1', 'B', 'C', 'D='], { B: 'x' }), ['A=1', 'B=x', 'D=']);
    assert.throws(() => parseEnvFlags(['=v'], {}), BuildError);
  });
  it('validateName', () => {
    assert.equal(validateName('/web_1.a-b'), 'web_1.a-b');
    for (const bad of ['a', '-x', 'a b', 'x/y', '']) assert.throws(() => validateName(bad), /Invalid container name/, bad);
  });
});

describe('ContainerManager', { skip: skipReason }, () => {
  let root: string;
  let mgr: ContainerManager;

  before(async () => {
    root = await makeRoot();
    mgr = await ContainerManager.open(root);
  });
  after(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('create → start → wait/inspect; logs -f follows live output', async () => {
    const c = await mgr.create({ image: 'busybox', name: 'api1', cmd: ['sh', '-c', 'for i in 1 2 3; do echo line$i; sleep 0.2; done; echo bad >&2; exit 5'] });
    assert.equal(c.state.status, 'created');
    assert.equal(c.config.imageId.startsWith('sha256:'), true);
    assert.equal((await mgr.inspect('api1')).id, c.id);
    assert.equal((await mgr.wait(c.id)).exitCode, 0, 'a created container is not running');
    const out = sink();
    const err = sink();
    const started = mgr.start('api1', { stdout: out.stream, stderr: err.stream });
    await until(async () => (await mgr.inspect(c.id)).state.status === 'running', 10_000, 'running');
    const followed = sink();
    const following = mgr.logs(c.id.slice(0, 10), { stdout: followed.stream, follow: true });
    assert.deepEqual(await started, { exitCode: 5 });
    await following;
    assert.equal(out.text(), 'line1\nline2\nline3\n');
    assert.equal(err.text(), 'bad\n');
    assert.equal(followed.text(), 'line1\nline2\nline3\n');
    const st = (await mgr.inspect(c.id)).state;
    assert.equal(st.status, 'exited');
    assert.equal(st.exitCode, 5);
    assert.deepEqual(await mgr.wait(c.id), { exitCode: 5 });
    await assert.rejects(mgr.kill(c.id, 'TERM'), /is not running/);
    await mgr.remove('api1');
    await assert.rejects(mgr.inspect(c.id), NotFoundError);
    await assertNoLeftovers(root);
  });

  it('stop: SIGTERM, then SIGKILL after the timeout; kill with a signal; rm needs -f while running', async () => {
    // PID 1 without a handler ignores SIGTERM: stop must fall back to SIGKILL (137).
    const a = await mgr.create({ image: 'busybox', cmd: ['sleep', '60'] });
    const runA = mgr.start(a.id);
    await until(async () => (await mgr.inspect(a.id)).state.status === 'running', 10_000, 'running');
    await assert.rejects(mgr.remove(a.id), /You cannot remove a running container/);
    const t0 = Date.now();
    assert.deepEqual(await mgr.stop(a.id, { timeoutSec: 1 }), { exitCode: 137 });
    assert.ok(Date.now() - t0 >= 900, 'waited for the timeout');
    assert.deepEqual(await runA, { exitCode: 137 });

    const b = await mgr.create({ image: 'busybox', cmd: ['sh', '-c', 'trap "exit 11" USR1; echo up; while true; do sleep 0.1; done'] });
    const out = sink();
    const runB = mgr.start(b.id, { stdout: out.stream });
    await until(() => out.text().includes('up'), 10_000, 'up');
    await assert.rejects(mgr.kill(b.id, 'NOSUCHSIG'), /invalid signal/);
    await mgr.kill(b.id, 'SIGUSR1');
    assert.deepEqual(await runB, { exitCode: 11 });

    const c = await mgr.create({ image: 'busybox', cmd: ['sleep', '60'] });
    const runC = mgr.start(c.id);
    await until(async () => (await mgr.inspect(c.id)).state.status === 'running', 10_000, 'running');
    await mgr.remove(c.id, { force: true });
    assert.equal((await runC).exitCode, 137);
    await mgr.remove(a.id);
    await mgr.remove(b.id);
    await assertNoLeftovers(root);
  });

  it('names are unique, IDs resolve by prefix, bad input fails before anything is created', async () => {
    const a = await mgr.create({ image: 'busybox', name: 'uniq', cmd: ['true'] });
    await assert.rejects(mgr.create({ image: 'busybox', name: 'uniq', cmd: ['true'] }), /already in use/);
    await assert.rejects(mgr.create({ image: 'nosuchimage:1', cmd: ['true'] }), /No such image/);
    await assert.rejects(mgr.create({ image: 'busybox', entrypoint: [], cmd: [] }), /no command specified/);
    await assert.rejects(mgr.create({ image: 'busybox', cmd: ['true'], workdir: 'rel' }), /needs to be an absolute path/);
    await assert.rejects(mgr.inspect('zzzz'), /No such container: zzzz/);
    assert.equal(await mgr.resolveId(a.id.slice(0, 5)), a.id);
    assert.equal(await mgr.resolveId('/uniq'), a.id);
    assert.equal((await mgr.list()).length, 0);
    assert.deepEqual((await mgr.list({ all: true })).map((c) => c.name), ['uniq']);
    await mgr.remove('uniq');
    await assertNoLeftovers(root);
  });

  it('another process sees a running container; a dead mybuild shows Exited (255) and rm cleans up', async () => {
    const child = spawnCli(root, ['run', '--name', 'xproc', 'busybox', 'sh', '-c', 'echo started; sleep 60']);
    const c = collect(child);
    await until(() => c.out().includes('started'), 20_000, 'the container to start');
    const running = await mgr.list();
    assert.deepEqual(running.map((x) => [x.name, x.state.status]), [['xproc', 'running']]);

    child.kill('SIGKILL'); // no chance to clean up: its watchdog kills the container and unmounts its rootfs
    await c.exit;
    // Within moments, without any other mybuild command: nothing runs, nothing stays mounted.
    const runcLeft = async (): Promise<boolean> => (await execCapture('ps', ['-eo', 'args'])).stdout.toString().includes(`${root}/containers`);
    const mountsLeft = async (): Promise<string[]> => (await readFile('/proc/self/mountinfo', 'utf8')).split('\n').filter((l) => l.includes(root));
    await until(async () => !(await runcLeft()) && (await mountsLeft()).length === 0, 10_000, 'the killed run to leave no process and no mount').catch(async (err: Error) => {
      assert.fail(`${err.message}: runc left: ${await runcLeft()}, mounts left: ${(await mountsLeft()).join('; ')}`);
    });
    const st = (await mgr.inspect('xproc')).state;
    assert.equal(st.status, 'exited');
    assert.equal(st.exitCode, 255);
    assert.match(st.error ?? '', /is gone/);
    await mgr.remove('xproc');
    await assertNoLeftovers(root);
  });

  it('a container of a manager that outlives its process (the daemon) keeps running when the process is killed, and is reported running', async () => {
    // As the daemon does: a manager opened with tied: false, in a process of its own.
    const managerJs = path.join(repoRoot, 'dist', 'src', 'containers', 'manager.js');
    const script = `const { ContainerManager } = await import(${JSON.stringify(managerJs)});
      const m = await ContainerManager.open(${JSON.stringify(root)}, { tied: false });
      const c = await m.create({ image: 'busybox', name: 'outlives', cmd: ['sleep', '60'] });
      void m.start(c.id);
      for (;;) { if ((await m.inspect(c.id)).state.status === 'running') break; await new Promise((r) => setTimeout(r, 50)); }
      console.log('started');
      setInterval(() => undefined, 1000);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    const c = collect(child);
    await until(() => c.out().includes('started'), 20_000, 'the container to start').catch(() => assert.fail(c.err()));
    await until(async () => (await execCapture('runc', ['--root', path.join(root, 'containers', (await mgr.inspect('outlives')).id, 'runtime', 'runc'), 'list', '-q'])).stdout.length > 0, 10_000, 'runc to run it');
    child.kill('SIGKILL');
    await c.exit;
    await new Promise((r) => setTimeout(r, 1000));
    const st = (await mgr.inspect('outlives')).state;
    assert.equal(st.status, 'running', 'still running: not "Exited (255)" while its process runs');
    assert.deepEqual((await mgr.list()).map((x) => x.name), ['outlives']);
    assert.equal((await mgr.reconcile()).length, 0, 'a running container is left as it is');
    await mgr.kill('outlives', 'KILL');
    await until(async () => (await mgr.inspect('outlives')).state.status === 'exited', 10_000, 'exited after kill');
    assert.deepEqual(await mgr.reconcile(), [(await mgr.inspect('outlives')).id], 'reconcile records the exit and cleans its runtime leftovers');
    const mounts = (await readFile('/proc/self/mountinfo', 'utf8')).split('\n').filter((l) => l.includes(root));
    assert.deepEqual(mounts, [], 'reconcile unmounted its rootfs');
    await mgr.remove('outlives');
    await assertNoLeftovers(root);
  });
});

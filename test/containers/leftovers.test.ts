/**
 * `mybuild system check` names what killed processes left on the host (mounts, runc containers,
 * processes, snapshots, temp files) and `system check --repair` / `prune` remove it; what live
 * builds and running containers use is never reported. The leftovers are made the hard way: a
 * build (or `mybuild run`) SIGKILLed together with its watchdog (as after a power cut of the
 * watchdog alone), so nothing undid its work.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { buildSkipReason, cleanupTemp, cliSkipReason, makeStoreRoot, mountsUnder, runCliProcess, runcContainers, storeProcesses, until, writeContext } from '../helpers/build.js';
import { cliPath } from '../helpers/paths.js';

const skip = buildSkipReason() || cliSkipReason();

/** Starts the CLI; resolves once its output has `marker`. */
async function startCli(root: string, args: string[], cwd: string, marker: string): Promise<{ child: ChildProcess; exited: Promise<unknown>; out: () => string }> {
  const child = spawn(process.execPath, [cliPath, '--root', root, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise((resolve) => child.on('close', resolve));
  assert.ok(await until(() => out.includes(marker), 60_000), `"${marker}" in the output of mybuild ${args.join(' ')}:\n${out}`);
  return { child, exited, out: () => out };
}

/** SIGKILLs the CLI's watchdog, then the CLI: nothing undoes its work. */
async function killWithWatchdog(c: { child: ChildProcess; exited: Promise<unknown> }): Promise<void> {
  const dogs = spawnSync('pgrep', ['-P', String(c.child.pid), 'awk'], { encoding: 'utf8' }).stdout.split('\n').filter((s) => s !== '');
  assert.equal(dogs.length, 1, 'the CLI has one watchdog');
  process.kill(Number(dogs[0]), 'SIGKILL');
  c.child.kill('SIGKILL');
  await c.exited;
}

function kinds(stdout: string): string[] {
  return [...new Set(stdout.split('\n').map((l) => /^(\w+): /.exec(l)?.[1]).filter((k): k is string => !!k))].sort();
}

describe('system check: leftovers of killed processes', { skip }, () => {
  let root: string;
  before(async () => {
    root = await makeStoreRoot();
  });
  after(cleanupTemp);

  it('a killed build: check names its mounts, container, processes, snapshot and temp files; --repair removes them all', async () => {
    const ctx = await writeContext({ Dockerfile: 'FROM busybox\nRUN echo st""arted; sleep 60\n' });
    const b = await startCli(root, ['build', '--progress', 'plain', ctx], ctx, 'started');
    await killWithWatchdog(b);
    assert.ok((await mountsUnder(root)).length > 0 && runcContainers(root).length > 0, 'the killed build left mounts and its container');
    const chk = await runCliProcess(['--root', root, 'system', 'check']);
    assert.equal(chk.code, 1, chk.stdout + chk.stderr);
    assert.deepEqual(kinds(chk.stdout), ['container', 'mount', 'process', 'snapshot', 'temp'], chk.stdout);
    assert.match(chk.stderr, /system check --repair/);

    const rep = await runCliProcess(['--root', root, 'system', 'check', '--repair']);
    assert.equal(rep.code, 0, rep.stdout + rep.stderr);
    assert.match(rep.stdout, /^removed container: /m);
    assert.match(rep.stdout, /No problems found/);
    assert.deepEqual(await mountsUnder(root), []);
    assert.deepEqual(runcContainers(root), []);
    assert.ok(await until(async () => (await storeProcesses(root)).length === 0, 5000), JSON.stringify(await storeProcesses(root)));
  });

  it('a killed `mybuild run`: check names its container leftovers, prune removes them; ps -a says Exited', async () => {
    const r = await startCli(root, ['run', '--name', 'killedrun', 'busybox', 'sh', '-c', 'echo st""arted; sleep 60'], root, 'started');
    await killWithWatchdog(r);
    const chk = await runCliProcess(['--root', root, 'system', 'check']);
    assert.equal(chk.code, 1, chk.stdout + chk.stderr);
    assert.ok(['container', 'mount', 'process'].every((k) => kinds(chk.stdout).includes(k)), chk.stdout);
    const ps = await runCliProcess(['--root', root, 'ps', '-a']);
    assert.match(ps.stdout, /Up .*killedrun/, 'still running: ps says so');
    const pr = await runCliProcess(['--root', root, 'prune']);
    assert.equal(pr.code, 0, pr.stderr);
    assert.match(pr.stdout, /Removed \d+ leftover/);
    const after = await runCliProcess(['--root', root, 'ps', '-a']);
    assert.match(after.stdout, /Exited \(255\).*killedrun/);
    assert.deepEqual(await mountsUnder(root), []);
    assert.ok(await until(async () => (await storeProcesses(root)).length === 0, 5000), JSON.stringify(await storeProcesses(root)));
    assert.equal((await runCliProcess(['--root', root, 'system', 'check'])).code, 0);
    assert.equal((await runCliProcess(['--root', root, 'rm', 'killedrun'])).code, 0);
  });

  it('what a live build and a running container use is not a leftover (and --repair leaves it)', async () => {
    const ctx = await writeContext({ Dockerfile: 'FROM busybox\nRUN echo st""arted; sleep 4\n' });
    const b = await startCli(root, ['build', '--progress', 'plain', '--no-cache', ctx], ctx, 'started');
    const r = await startCli(root, ['run', '--rm', '--name', 'liverun', 'busybox', 'sh', '-c', 'echo st""arted; sleep 4'], root, 'started');
    const chk = await runCliProcess(['--root', root, 'system', 'check', '--repair']);
    assert.equal(chk.code, 0, chk.stdout + chk.stderr);
    assert.doesNotMatch(chk.stdout, /^removed /m);
    await Promise.all([b.exited, r.exited]);
    assert.match(b.out(), /DONE|writing image|naming/i, b.out());
    assert.equal(b.child.exitCode, 0, b.out());
    assert.equal(r.child.exitCode, 0, r.out());
  });
});

/**
 * SIGKILL of the daemon (its own process, the compiled CLI): a container it runs (`run -d`)
 * outlives it and is reported running (`ps`, daemonless and through a restarted daemon), not
 * "Exited (255)" while it runs; a build it was running is undone by its watchdog (no container,
 * no mount of the build left); after the container is removed through the restarted daemon,
 * nothing of it is left and `system check` is clean.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { buildSkipReason, cleanupTemp, cliSkipReason, makeStoreRoot, mountsUnder, runCliProcess, runcContainers, storeProcesses, until, tempDir, writeContext } from '../helpers/build.js';
import { cliPath } from '../helpers/paths.js';

const skip = buildSkipReason() || cliSkipReason();

describe('daemon: SIGKILL of the daemon', { skip }, () => {
  let root: string;
  let sock: string;
  let daemon: ChildProcess | undefined;
  const start = async (): Promise<ChildProcess> => {
    const d = spawn(process.execPath, [cliPath, 'daemon', '--root', root, '-H', `unix://${sock}`], { stdio: 'ignore' });
    assert.ok(await until(() => existsSync(sock), 20_000), 'the daemon listens');
    assert.ok(await until(async () => (await runCliProcess(['-H', `unix://${sock}`, 'ps'])).code === 0, 20_000), 'the daemon answers');
    return d;
  };
  const kill = async (d: ChildProcess): Promise<void> => {
    const gone = new Promise((r) => d.once('close', r));
    d.kill('SIGKILL');
    await gone;
  };
  before(async () => {
    root = await makeStoreRoot();
    sock = path.join(await tempDir('mybuild-dsock-'), 'd.sock');
  });
  after(async () => {
    if (daemon && daemon.exitCode === null && daemon.signalCode === null) await kill(daemon);
    await cleanupTemp();
  });

  it('its run -d container keeps running and is reported running; its build is undone; rm through the restarted daemon leaves nothing', async () => {
    daemon = await start();
    const host = ['-H', `unix://${sock}`];
    const det = await runCliProcess([...host, 'run', '-d', '--name', 'survivor', 'busybox', 'sleep', '300']);
    assert.equal(det.code, 0, det.stderr);
    const ctx = await writeContext({ Dockerfile: 'FROM busybox\nRUN echo st""arted; sleep 60\n' });
    const build = spawn(process.execPath, [cliPath, ...host, 'build', '--progress', 'plain', ctx], { cwd: ctx, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    build.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    build.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    assert.ok(await until(() => out.includes('started'), 60_000), `the build's RUN to start:\n${out}`);
    assert.equal(runcContainers(root).length, 1, "the build's RUN container runs");

    await kill(daemon);
    const buildUndone = await until(async () => runcContainers(root).length === 0 && (await mountsUnder(path.join(root, 'runtime'))).length === 0, 10_000);
    assert.ok(buildUndone, `the build's container and rootfs are gone: runc ${JSON.stringify(runcContainers(root))}, mounts ${JSON.stringify(await mountsUnder(root))}`);
    const ps = await runCliProcess(['--root', root, 'ps']);
    assert.match(ps.stdout, /Up .*survivor/, `still running, and said so (daemonless):\n${ps.stdout}`);
    assert.ok((await storeProcesses(root)).some((p) => / sleep 300$/.test(p)), 'its process runs');
    const chk = await runCliProcess(['--root', root, 'system', 'check']);
    assert.equal(chk.code, 0, `a running daemon container is no leftover:\n${chk.stdout}${chk.stderr}`);

    daemon = await start();
    const rps = await runCliProcess([...host, 'ps']);
    assert.match(rps.stdout, /survivor/, `the restarted daemon reports it running:\n${rps.stdout}`);
    const rm = await runCliProcess([...host, 'rm', '-f', 'survivor']);
    assert.equal(rm.code, 0, rm.stderr);
    assert.ok(await until(async () => (await storeProcesses(root)).length === 0, 10_000), JSON.stringify(await storeProcesses(root)));
    await kill(daemon);
    assert.deepEqual(await mountsUnder(root), []);
    const chk2 = await runCliProcess(['--root', root, 'system', 'check']);
    assert.equal(chk2.code, 0, chk2.stdout + chk2.stderr);
  });
});

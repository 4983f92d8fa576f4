/**
 * The process's watchdog (src/runtime/watchdog.ts): a SIGKILLed `mybuild build` leaves, within
 * moments and without any later mybuild command, no runc container running, no mount and no
 * process of the store, and no temp dir or active snapshot of its own (`system check` is clean).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { buildSkipReason, cleanupTemp, cliSkipReason, makeStoreRoot, mountsUnder, runCliProcess, runcContainers, storeProcesses, until, writeContext } from '../helpers/build.js';
import { cliPath } from '../helpers/paths.js';

const skip = buildSkipReason() || cliSkipReason();

describe('watchdog: a killed build leaves nothing on the host', { skip }, () => {
  let root: string;
  before(async () => {
    root = await makeStoreRoot();
  });
  after(cleanupTemp);

  it('SIGKILL during RUN sleep 30 (with a secret mount and a COPY --from view): the container is killed, everything unmounted and removed', async () => {
    const ctx = await writeContext({
      Dockerfile: 'FROM busybox AS a\nRUN echo a > /a\nFROM busybox\nCOPY --from=a /a /a\nRUN --mount=type=secret,id=s,target=/s cat /s > /dev/null; echo st""arted; sleep 30\n',
      s: 'hush',
    });
    const child = spawn(process.execPath, [cliPath, '--root', root, 'build', '--progress', 'plain', '--secret', `id=s,src=${ctx}/s`, ctx], { cwd: ctx, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise((resolve) => child.on('close', resolve));
    assert.ok(await until(() => out.includes('started'), 60_000), `the RUN step to start:\n${out}`);
    assert.ok(runcContainers(root).length > 0, 'the RUN container is running');
    child.kill('SIGKILL');
    await exited;
    const clean = await until(async () => (await mountsUnder(root)).length === 0 && runcContainers(root).length === 0 && (await storeProcesses(root)).length === 0, 10_000);
    assert.ok(clean, `left after 10 s: mounts ${JSON.stringify(await mountsUnder(root))}, runc ${JSON.stringify(runcContainers(root))}, processes ${JSON.stringify(await storeProcesses(root))}`);
    const chk = await runCliProcess(['--root', root, 'system', 'check']);
    assert.equal(chk.code, 0, chk.stdout + chk.stderr);
  });
});

/**
 * Secrets of RUN --mount=type=secret after the step (issue 14): the file the step reads is on a
 * tmpfs of its own (never on the store's disk), a finished build leaves no copy anywhere under
 * the store, and a SIGKILLed build's copy is named by `system check` and removed when the next
 * build starts. The secret's uid, gid and mode are those of the mount.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { buildFiles, buildSkipReason, cleanupTemp, cliSkipReason, makeStoreRoot, mountsUnder, runCliProcess, tempDir, writeContext } from '../helpers/build.js';
import { cliPath } from '../helpers/paths.js';

const skip = buildSkipReason() || cliSkipReason();

/** Files under `dir` whose bytes contain `needle` (grep -rlF; mounts below `dir` included). */
function filesHolding(dir: string, needle: string): string[] {
  const r = spawnSync('grep', ['-rlF', needle, dir], { encoding: 'utf8' });
  // A file that goes away while grep walks (a lock such as gc.lock, a temp file) is not an error.
  const errors = r.stderr.split('\n').filter((l) => l !== '' && !l.endsWith('No such file or directory'));
  assert.ok(r.status === 0 || r.status === 1 || (r.status === 2 && errors.length === 0), r.stderr);
  return r.stdout.split('\n').filter(Boolean);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('builder: secrets leave no copy behind', { skip }, () => {
  let root: string;
  let secretFile: string;
  let value: string;
  before(async () => {
    root = await makeStoreRoot();
    value = `S3CR3T-${Math.random().toString(36).slice(2)}-LEFT`;
    secretFile = path.join(await tempDir('mybuild-secret-src-'), 'token');
    writeFileSync(secretFile, value);
  });
  after(cleanupTemp);

  it('the step reads the secret from a tmpfs, with the mount\'s uid, gid and mode; the build leaves no copy', async () => {
    const out = await tempDir('mybuild-secret-out-');
    await buildFiles(root, {
      Dockerfile: [
        'FROM busybox',
        'RUN --mount=type=secret,id=tok grep " /run/secrets/tok " /proc/self/mountinfo > /mountinfo',
        'RUN --mount=type=secret,id=tok,uid=1234,gid=4321,mode=0440 stat -c "%u %g %a" /run/secrets/tok > /owner',
      ].join('\n'),
    }, { secrets: [{ id: 'tok', src: secretFile }], outputs: [{ type: 'local', dest: out }] });
    assert.match(readFileSync(path.join(out, 'mountinfo'), 'utf8'), / - tmpfs /);
    assert.equal(readFileSync(path.join(out, 'owner'), 'utf8'), '1234 4321 440\n');
    assert.deepEqual(filesHolding(root, value), []);
    assert.deepEqual(existsSync(path.join(root, 'secrets')) ? readdirSync(path.join(root, 'secrets')) : [], []);
    assert.deepEqual(await mountsUnder(root), []);
  });

  it('a SIGKILLed build\'s copy is removed at once by its watchdog', async () => {
    const ctx = await writeContext({ Dockerfile: 'FROM busybox\nRUN --mount=type=secret,id=tok sleep 120\n' });
    const child = spawn(process.execPath, [cliPath, '--root', root, 'build', '--no-cache', '--secret', `id=tok,src=${secretFile}`, ctx], { detached: true, stdio: 'ignore' });
    let copies: string[] = [];
    for (let i = 0; i < 600 && copies.length === 0; i++) {
      await sleep(100);
      copies = filesHolding(root, value);
    }
    assert.ok(copies.length > 0, 'the step has the secret under the store while it runs');
    process.kill(-child.pid!, 'SIGKILL');
    await new Promise((r) => child.once('exit', r));
    for (let i = 0; i < 100 && (filesHolding(root, value).length > 0 || (await mountsUnder(root)).length > 0); i++) await sleep(100);
    assert.deepEqual(filesHolding(root, value), [], 'the copy is gone without any other mybuild command');
    assert.deepEqual(await mountsUnder(root), [], 'its tmpfs is unmounted');
  });

  it('a copy left anyway (its watchdog killed as well) is reported by system check and removed when the next build starts', async () => {
    const ctx = await writeContext({ Dockerfile: 'FROM busybox\nRUN --mount=type=secret,id=tok sleep 120\n' });
    // Its own process group: the kill takes the CLI and the runc it started, as a killed job does.
    const child = spawn(process.execPath, [cliPath, '--root', root, 'build', '--no-cache', '--secret', `id=tok,src=${secretFile}`, ctx], { detached: true, stdio: 'ignore' });
    let copies: string[] = [];
    for (let i = 0; i < 600 && copies.length === 0; i++) {
      await sleep(100);
      copies = filesHolding(root, value);
    }
    assert.ok(copies.length > 0, 'the step has the secret under the store while it runs');
    // The watchdog (an awk child in a session of its own) goes first, as if the machine lost power.
    const dogs = spawnSync('pgrep', ['-P', String(child.pid), 'awk'], { encoding: 'utf8' }).stdout.split('\n').filter((s) => s !== '');
    assert.equal(dogs.length, 1, 'the build has one watchdog');
    process.kill(Number(dogs[0]), 'SIGKILL');
    process.kill(-child.pid!, 'SIGKILL');
    await new Promise((r) => child.once('exit', r));
    assert.deepEqual(filesHolding(root, value), copies, 'the killed build left its copy');

    const check = await runCliProcess(['--root', root, 'system', 'check']);
    assert.equal(check.code, 1, check.stdout + check.stderr);
    for (const f of copies) assert.ok(check.stdout.includes(f), `system check names ${f}:\n${check.stdout}`);
    assert.match(check.stdout, /^secret: .*left by a killed build/m);

    // The next build, even one without a secret or a RUN, removes it before doing anything (and,
    // alone on the store, the killed build's runc container: src/builder/stale.ts).
    const next = await runCliProcess(['--root', root, 'build', '-q', await writeContext({ Dockerfile: 'FROM busybox\nLABEL x=y\n' })]);
    assert.equal(next.code, 0, next.stderr);
    assert.deepEqual(filesHolding(root, value), []);
    assert.deepEqual((await mountsUnder(path.join(root, 'secrets'))), []);
    const clean = await runCliProcess(['--root', root, 'system', 'check']);
    assert.doesNotMatch(clean.stdout, /^secret: /m);
  });

  it('system check also names the copy an earlier version left under <root>/tmp', async () => {
    const legacy = path.join(root, 'tmp', 'run-AbC123', 'secret-0');
    mkdirSync(path.dirname(legacy), { recursive: true });
    writeFileSync(legacy, value, { mode: 0o400 });
    try {
      const check = await runCliProcess(['--root', root, 'system', 'check']);
      assert.equal(check.code, 1);
      assert.ok(check.stdout.includes(`secret: ${legacy}: `), check.stdout);
    } finally {
      rmSync(path.dirname(legacy), { recursive: true, force: true });
    }
  });
});

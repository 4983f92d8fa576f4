/**
 * Client mode: the mybuild CLI with -H gives the same results as without (build, images, tag,
 * rmi, version) against a daemon over the same store root.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { baseImageSkipReason, ensureBaseImage } from '../helpers/base-image.js';
import { runCli } from '../helpers/cli.js';
import { notRoot, runcMissing, startTestDaemon, type TestDaemon } from './helpers.js';

const skip = notRoot || runcMissing || baseImageSkipReason();

describe('mybuild CLI with and without -H', { skip, concurrency: false }, () => {
  let d: TestDaemon;
  let ctxDir: string;
  const local = (args: string[]) => runCli(['--root', d.root, ...args], { cwd: ctxDir, env: { ...process.env, MYBUILD_HOST: '' } });
  const remote = (args: string[]) => runCli(['--root', '/nonexistent-root-unused', '-H', d.host, ...args], { cwd: ctxDir });
  before(async () => {
    d = await startTestDaemon();
    const layout = await ensureBaseImage();
    ctxDir = path.join(d.dir, 'ctx');
    await mkdir(ctxDir, { recursive: true });
    const l = await local(['load', '-i', layout]);
    assert.equal(l.code, 0, l.err);
    assert.equal((await local(['tag', 'latest:latest', 'busybox:latest'])).code, 0);
    await writeFile(path.join(ctxDir, 'Dockerfile'), 'FROM busybox\nCOPY . /ctx/\nRUN ls /ctx > /listing\n');
    await writeFile(path.join(ctxDir, 'kept.txt'), 'kept\n');
    await writeFile(path.join(ctxDir, 'ignored.txt'), 'ignored\n');
    await writeFile(path.join(ctxDir, '.dockerignore'), 'ignored.txt\n');
    // A tar keeps whole seconds of mtime; give the files whole-second mtimes so both paths see the same.
    for (const f of ['Dockerfile', 'kept.txt', 'ignored.txt', '.dockerignore', '.']) await utimes(path.join(ctxDir, f), 1700000000, 1700000000);
  });
  after(async () => {
    await d?.stop();
  });

  it('build gives the same image ID with and without -H (.dockerignore honoured on the client)', async () => {
    const a = await local(['build', '-q', '--build-arg', 'SOURCE_DATE_EPOCH=1700000000', '--iidfile', path.join(d.dir, 'iid-local'), '-t', 'app:local', '.']);
    assert.equal(a.code, 0, a.err);
    const b = await remote(['build', '-q', '--build-arg', 'SOURCE_DATE_EPOCH=1700000000', '--iidfile', path.join(d.dir, 'iid-remote'), '-t', 'app:remote', '.']);
    assert.equal(b.code, 0, b.err);
    const idA = await readFile(path.join(d.dir, 'iid-local'), 'utf8');
    const idB = await readFile(path.join(d.dir, 'iid-remote'), 'utf8');
    assert.match(idA, /^sha256:[0-9a-f]{64}$/);
    assert.equal(idB, idA);
    assert.equal(b.out.trim(), idA);
  });

  it('a build that fails has the same exit code with and without -H', async () => {
    const dir = path.join(d.dir, 'bad');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'Dockerfile'), 'FROM busybox\nRUN exit 9\n');
    const a = await local(['build', '-q', dir]);
    const b = await remote(['build', '-q', dir]);
    assert.notEqual(a.code, 0);
    assert.equal(b.code, a.code, b.err);
  });

  it('images, tag, rmi and version', async () => {
    assert.equal((await remote(['tag', 'app:remote', 'app:tagged'])).code, 0);
    const li = await local(['images']);
    const ri = await remote(['images']);
    assert.equal(ri.code, 0, ri.err);
    assert.equal(ri.out, li.out);
    assert.match(ri.out, /app\s+tagged/);
    const r = await remote(['rmi', 'app:tagged']);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, 'Untagged: app:tagged\n');
    assert.equal((await remote(['images', '-q', 'app'])).out, (await local(['images', '-q', 'app'])).out);
    const v = await remote(['version']);
    assert.equal(v.code, 0, v.err);
    assert.match(v.out, /Client:[\s\S]*Server:[\s\S]*API version: 1\.45/);
  });
});

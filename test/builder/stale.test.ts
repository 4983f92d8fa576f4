/**
 * src/builder/stale.ts: a build cleans what killed builds left (runtime bundles, the store's tmp
 * entries, snapshots via `deadFound`) when it finds a dead build's marker and no live build;
 * without a dead marker it touches nothing.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { registerBuild } from '../../src/builder/stale.js';

/** A pid that is not running (a child that has exited). */
function deadPid(): number {
  for (let pid = 4_000_000; pid > 3_000_000; pid -= 7919) {
    try {
      process.kill(pid, 0);
    } catch {
      return pid;
    }
  }
  throw new Error('no free pid found');
}

describe('registerBuild: cleanup only after a killed build', () => {
  let root: string;
  let ingest: string;
  const builds = (): string => path.join(root, 'runtime', 'builds');
  before(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'mybuild-stale-'));
    ingest = path.join(root, 'ingest');
    await mkdir(ingest, { recursive: true });
  });
  after(() => rm(root, { recursive: true, force: true }));

  /** What a killed build leaves: its marker, a temp dir and a runtime bundle. */
  async function leaveLeftovers(): Promise<string> {
    const marker = `${deadPid()}-0123456789ab`;
    await mkdir(builds(), { recursive: true });
    await writeFile(path.join(builds(), marker), '12345');
    await mkdir(path.join(root, 'tmp', 'run-left'), { recursive: true });
    await mkdir(path.join(root, 'runtime', 'bundles', 'mybuild-left'), { recursive: true });
    return marker;
  }

  it('no dead marker: nothing is cleaned and no snapshot cleanup is asked for', async () => {
    await mkdir(path.join(root, 'tmp', 'in-use-by-nobody-known'), { recursive: true });
    const r = await registerBuild(root, ingest);
    assert.equal(r.cleaned, false);
    assert.equal(r.deadFound, false);
    assert.ok(existsSync(path.join(root, 'tmp', 'in-use-by-nobody-known')));
    await r.release();
    assert.deepEqual(await readdir(builds()), []);
    await rm(path.join(root, 'tmp', 'in-use-by-nobody-known'), { recursive: true });
  });

  it('a dead marker while another build runs: kept for later, only snapshots are cleaned now', async () => {
    const marker = await leaveLeftovers();
    const live = await registerBuild(root, ingest);
    // The first registration was alone and found the dead marker: it cleaned.
    assert.equal(live.cleaned, true);
    assert.equal(live.deadFound, true);
    assert.equal(existsSync(path.join(root, 'tmp', 'run-left')), false);
    assert.equal(existsSync(path.join(root, 'runtime', 'bundles')), false);
    assert.equal(existsSync(path.join(builds(), marker)), false);

    const marker2 = await leaveLeftovers();
    const second = await registerBuild(root, ingest);
    assert.equal(second.cleaned, false, 'another build is live: no runtime cleanup');
    assert.equal(second.deadFound, true, 'snapshots of dead builds are still cleaned (pid-based)');
    assert.ok(existsSync(path.join(root, 'tmp', 'run-left')));
    assert.ok(existsSync(path.join(builds(), marker2)), 'the dead marker stays for a build that is alone');
    await second.release();
    await live.release();

    const alone = await registerBuild(root, ingest);
    assert.equal(alone.cleaned, true);
    assert.equal(existsSync(path.join(root, 'tmp', 'run-left')), false);
    assert.equal(existsSync(path.join(builds(), marker2)), false);
    await alone.release();
    assert.deepEqual(await readdir(builds()), []);
  });

  it('a killed build that is still a zombie (not reaped yet) counts as dead: its leftovers are cleaned', async () => {
    // `sleep 0.1` exits first; its parent (exec'd into `sleep 5`) never reaps it: a zombie for 5 s.
    const holder = spawn('sh', ['-c', 'sleep 0.1 & echo $!; exec sleep 5'], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      const zpid = Number(await new Promise<string>((resolve) => holder.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim()))));
      for (let i = 0; i < 50 && !/\) Z /.test(readFileSync(`/proc/${zpid}/stat`, 'utf8')); i++) await new Promise((r) => setTimeout(r, 50));
      assert.match(readFileSync(`/proc/${zpid}/stat`, 'utf8'), /\) Z /, 'the child is a zombie');
      const marker = `${zpid}-0123456789ab`;
      await mkdir(builds(), { recursive: true });
      await writeFile(path.join(builds(), marker), '');
      await mkdir(path.join(root, 'tmp', 'run-zombie'), { recursive: true });
      const r = await registerBuild(root, ingest);
      assert.equal(r.cleaned, true);
      assert.equal(existsSync(path.join(root, 'tmp', 'run-zombie')), false);
      await r.release();
    } finally {
      holder.kill('SIGKILL');
    }
  });
});

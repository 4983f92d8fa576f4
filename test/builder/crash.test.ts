/**
 * Crash safety: builds (compiled CLI child processes) SIGKILLed at seeded random points leave a
 * store that `system check` finds clean, and the next build cleans what they left (mounts,
 * runc containers) and succeeds. Two builds at once on one store both succeed.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { buildSkipReason, cleanupTemp, cliSkipReason, makeStoreRoot, mountsUnder, runCliProcess, runcContainers, writeContext } from '../helpers/build.js';
import { cliPath } from '../helpers/paths.js';

const skip = buildSkipReason() || cliSkipReason();

/** mulberry32: a small seeded PRNG, so a failing sequence of delays can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SEED = Number(process.env.MYBUILD_CRASH_SEED ?? 20240611);
const ITERATIONS = 10;

/** Names of the store's snapshots that are not committed (what killed builds leave). */
async function uncommittedSnapshots(root: string): Promise<string[]> {
  const out: string[] = [];
  for (const kind of ['overlay', 'native']) {
    const dir = path.join(root, 'snapshots', kind, 'meta');
    for (const f of await readdir(dir).catch(() => [] as string[])) {
      if (!f.endsWith('.json')) continue;
      const m = JSON.parse(await readFile(path.join(dir, f), 'utf8')) as { name: string; kind: string };
      if (m.kind !== 'committed') out.push(m.name);
    }
  }
  return out;
}

/** Starts `mybuild build` in `ctx` and SIGKILLs it after `delayMs`; resolves when it is gone. */
function buildAndKill(root: string, ctx: string, args: string[], delayMs: number): Promise<{ code: number | null; signal: string | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, '--root', root, 'build', '--progress', 'plain', ...args, ctx], { cwd: ctx, stdio: 'ignore' });
    const timer = setTimeout(() => child.kill('SIGKILL'), delayMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal });
    });
  });
}

describe('builder: crash safety', { skip }, () => {
  let root: string;
  before(async () => {
    root = await makeStoreRoot();
  });
  after(cleanupTemp);

  it(`SIGKILLed builds (seed ${SEED}, ${ITERATIONS} kills) leave a clean store, and the next build cleans up and succeeds`, async () => {
    const rand = prng(SEED);
    const big = 'x'.repeat(256 * 1024);
    const ctx = await writeContext({
      Dockerfile: [
        'FROM busybox AS main',
        'ARG N=0',
        'RUN echo start $N > /start; sleep 0.2',
        'COPY big /big',
        'RUN --mount=type=cache,target=/c dd if=/dev/zero of=/c/f bs=1k count=64 2>/dev/null; echo $N > /n; sleep 0.3',
        'RUN --mount=type=tmpfs,target=/t cp /big /t/b && cat /t/b /t/b > /twice',
        'FROM busybox AS other',
        'RUN echo other > /o; sleep 0.2',
        'FROM main',
        'COPY --from=other /o /o',
      ].join('\n'),
      big,
    });
    const kills: string[] = [];
    for (let i = 0; i < ITERATIONS; i++) {
      const delay = Math.floor(150 + rand() * 1800);
      const r = await buildAndKill(root, ctx, ['--build-arg', `N=${i}`, ...(rand() < 0.3 ? ['--no-cache'] : [])], delay);
      kills.push(`${delay}ms:${r.signal ?? r.code}`);
    }
    const chk = await runCliProcess(['--root', root, 'system', 'check']);
    assert.equal(chk.code, 0, `system check after kills [${kills.join(' ')}]:\n${chk.stdout}${chk.stderr}`);

    const ok = await runCliProcess(['--root', root, 'build', '--progress', 'plain', '--build-arg', 'N=final', '-t', 'after-crash:1', ctx], { cwd: ctx });
    assert.equal(ok.code, 0, `build after kills [${kills.join(' ')}]:\n${ok.stderr}`);
    assert.deepEqual(await mountsUnder(root), [], 'no mounts left under the store');
    assert.deepEqual(runcContainers(root), [], 'no runc containers left');
    // The killed builds' markers told the next build to clean snapshots: none but committed ones stay.
    assert.deepEqual(await uncommittedSnapshots(root), [], 'no active or view snapshots left');
    const chk2 = await runCliProcess(['--root', root, 'system', 'check']);
    assert.equal(chk2.code, 0, chk2.stdout + chk2.stderr);
  });

  it('two builds of different Dockerfiles at the same time on one store both succeed', async () => {
    const a = await writeContext({ Dockerfile: 'FROM busybox\nRUN echo a > /a; sleep 0.5\nCOPY f /f\nRUN cat /f /a > /fa\n', f: 'fa' });
    const b = await writeContext({ Dockerfile: 'FROM busybox\nRUN echo b > /b; sleep 0.5\nCOPY f /f\nRUN cat /f /b > /fb\n', f: 'fb' });
    const [ra, rb] = await Promise.all([
      runCliProcess(['--root', root, 'build', '--progress', 'plain', '-t', 'par-a:1', a], { cwd: a }),
      runCliProcess(['--root', root, 'build', '--progress', 'plain', '-t', 'par-b:1', b], { cwd: b }),
    ]);
    assert.equal(ra.code, 0, ra.stderr);
    assert.equal(rb.code, 0, rb.stderr);
    const chk = await runCliProcess(['--root', root, 'system', 'check']);
    assert.equal(chk.code, 0, chk.stdout + chk.stderr);
    assert.deepEqual(await mountsUnder(root), []);
    assert.deepEqual(await mountsUnder(path.join(root, 'snapshots')), []);
  });
});

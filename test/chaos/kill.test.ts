// Chaos: SIGKILL of `mybuild build` at random moments (issue 22, chaos item 1). A multi-stage
// build with RUN steps that sleep, a COPY of 4 MB and a COPY --from is killed at a moment drawn
// uniformly over its own duration (measured first), with or without the cache. Every build sets
// SOURCE_DATE_EPOCH, so the image ID does not depend on which build's layers the cache holds. After every kill,
// with no other mybuild command in between: no mount under the store (/proc/self/mountinfo), no
// runc container or process of the store, and `mybuild system check` clean; every few kills and
// at the end the reference build gives the reference image ID again. Prints its figures on every
// run. 10 kills by default, 50 with `CHAOS=long`; `CHAOS_SEED=<n>` picks another seed.
import { after, before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { buildSkipReason, cleanupTemp, cliSkipReason, makeStoreRoot, mountsUnder, runCliProcess, runcContainers, storeProcesses, writeContext } from '../helpers/build.js';
import { cliPath } from '../helpers/paths.js';
import { mulberry32 } from '../helpers/prng.js';

const LONG = process.env.CHAOS === 'long';
const KILLS = LONG ? 50 : 10;
const SEED = process.env.CHAOS_SEED !== undefined ? Number(process.env.CHAOS_SEED) : 0x22d1e;
/** Reproducible layers: the reference build gives one image ID whatever the cache holds. */
const EPOCH = ['--build-arg', 'SOURCE_DATE_EPOCH=1700000000'];
/** How long the killed process's watchdog may take to undo its work. */
const SETTLE_MS = 10_000;

const skip = buildSkipReason() || cliSkipReason();

function say(t: TestContext, line: string): void {
  console.log(`chaos: ${line}`);
  t.diagnostic(line);
}

const DOCKERFILE = [
  'FROM busybox AS gen',
  'ARG N=0',
  'RUN echo gen $N > /gen; sleep 0.3',
  'FROM busybox',
  'ARG N=0',
  'COPY big.bin /data/big.bin',
  'RUN echo $N > /n; sleep 0.5',
  'COPY --from=gen /gen /gen',
  'RUN wc -c /data/big.bin > /size; cat /gen >> /size; sleep 0.3',
].join('\n');

/** Starts `mybuild build`; SIGKILLs it after `delayMs` unless it ended first. */
function buildAndKill(root: string, ctx: string, args: string[], delayMs: number): Promise<{ killed: boolean; code: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, '--root', root, 'build', '--progress', 'plain', ...EPOCH, ...args, ctx], { cwd: ctx, stdio: 'ignore' });
    let killed = false;
    const timer = setTimeout(() => {
      killed = child.kill('SIGKILL');
    }, delayMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ killed: killed && code === null, code });
    });
  });
}

/** What is left of killed processes on the host, once their watchdogs had `SETTLE_MS`. */
async function hostLeftovers(root: string): Promise<string[]> {
  const left = async (): Promise<string[]> => [
    ...(await mountsUnder(root)).map((m) => `mount ${m}`),
    ...runcContainers(root).map((c) => `runc container ${c}`),
    ...(await storeProcesses(root)).map((p) => `process ${p}`),
  ];
  const end = Date.now() + SETTLE_MS;
  let l = await left();
  while (l.length > 0 && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 100));
    l = await left();
  }
  return l;
}

async function imageId(root: string, ctx: string, n: string): Promise<string> {
  const iid = path.join(ctx, '..', `iid-${randomBytes(4).toString('hex')}`);
  const r = await runCliProcess(['--root', root, 'build', '-q', ...EPOCH, '--build-arg', `N=${n}`, '--iidfile', iid, ctx], { cwd: ctx });
  assert.equal(r.code, 0, r.stderr);
  return (await readFile(iid, 'utf8')).trim();
}

describe('chaos: SIGKILL of builds at random moments', { skip }, () => {
  let root: string;
  before(async () => {
    root = await makeStoreRoot();
  });
  after(cleanupTemp);

  it(`${KILLS} kills (seed ${SEED}): no mount, container or process left, system check clean, same image ID`, async (t) => {
    const rand = mulberry32(SEED);
    say(t, `kill: seed ${SEED} (CHAOS_SEED=${SEED} to replay), ${KILLS} kills`);
    const ctx = await writeContext({ Dockerfile: DOCKERFILE, 'big.bin': { content: Buffer.from(randomBytes(4 * 1024 * 1024)) } });
    const t0 = Date.now();
    const reference = await imageId(root, ctx, 'ref');
    // The spans kills are drawn over: a build with new RUN steps, and one without the cache, on this machine, now.
    const span = async (args: string[]): Promise<number> => {
      const t1 = Date.now();
      const r = await runCliProcess(['--root', root, 'build', '-q', ...EPOCH, ...args, ctx], { cwd: ctx });
      assert.equal(r.code, 0, r.stderr);
      return Date.now() - t1;
    };
    const spanCached = await span(['--build-arg', 'N=span']);
    const spanFull = await span(['--no-cache', '--build-arg', 'N=span']);
    say(t, `kill: reference build ${Date.now() - t0 - spanCached - spanFull} ms; spans: new RUN steps ${spanCached} ms, without the cache ${spanFull} ms`);

    let midBuild = 0;
    let leftovers = 0;
    let rebuilds = 0;
    const failures: string[] = [];
    for (let i = 0; i < KILLS; i++) {
      const noCache = rand() < 0.4;
      const delay = Math.floor(rand() * (noCache ? spanFull : spanCached));
      const r = await buildAndKill(root, ctx, ['--build-arg', `N=${i}`, ...(noCache ? ['--no-cache'] : [])], delay);
      if (r.killed) midBuild++;
      const where = `kill ${i} at ${delay} ms${noCache ? ' (--no-cache)' : ''}`;
      const left = await hostLeftovers(root);
      const chk = await runCliProcess(['--root', root, 'system', 'check']);
      const problems = chk.stdout.split('\n').filter((l) => /^\w+: /.test(l));
      leftovers += left.length + problems.length;
      if (left.length || chk.code !== 0) failures.push(`${where}: ${[...left, ...problems].join('; ') || chk.stderr}`);
      if (i % 5 === 4 || i === KILLS - 1) {
        const id = await imageId(root, ctx, 'ref');
        rebuilds++;
        if (id !== reference) failures.push(`${where}: the reference build gave ${id}, not ${reference}`);
      }
    }
    say(t, `kill: ${KILLS} kills (${midBuild} mid-build, ${KILLS - midBuild} after the build ended), leftovers found: ${leftovers}, rebuilds with the reference image ID: ${rebuilds - failures.filter((f) => f.includes('reference build gave')).length}/${rebuilds}, ${Date.now() - t0} ms`);
    assert.deepEqual(failures, [], `seed ${SEED}`);
    assert.ok(midBuild >= Math.ceil(KILLS / 2), `most kills land mid-build (${midBuild} of ${KILLS})`);
  });
});

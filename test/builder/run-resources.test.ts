/**
 * `mybuild build --memory / --memory-swap / --cpu-shares / --cpu-period / --cpu-quota /
 * --cpuset-cpus` (src/cli/resource-flags.ts): runc's cgroup limits of every RUN step, read back
 * inside the RUN from its own cgroups (mounted read-only at /sys/fs/cgroup, v1 or v2); not part of
 * the RUN's cache key (BuildKit keeps them in the op's metadata); bad values refused naming the flag.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildSkipReason, cleanupTemp, makeStoreRoot, runCliProcess, tempDir, writeContext } from '../helpers/build.js';

const v2 = existsSync('/sys/fs/cgroup/cgroup.controllers');
/** Prints the RUN's limits as `memory cpu-quota cpu-period shares-or-weight cpus`, from v1 or v2 files. */
const probe = v2
  ? 'echo "$(cat /sys/fs/cgroup/memory.max) $(cat /sys/fs/cgroup/cpu.max) $(cat /sys/fs/cgroup/cpu.weight) $(cat /sys/fs/cgroup/cpuset.cpus)"'
  : 'echo "$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes) $(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us) $(cat /sys/fs/cgroup/cpu/cpu.cfs_period_us) $(cat /sys/fs/cgroup/cpu/cpu.shares) $(cat /sys/fs/cgroup/cpuset/cpuset.cpus)"';

describe('RUN resource limits (--memory, --cpu-*)', { skip: buildSkipReason() }, () => {
  let root: string;
  let ctx: string;
  before(async () => {
    root = await makeStoreRoot();
    ctx = await writeContext({ Dockerfile: `FROM busybox AS base\nRUN ${probe} > /limits\nFROM scratch\nCOPY --from=base /limits /\n` });
  });
  after(cleanupTemp);

  const build = async (...flags: string[]) => {
    const out = path.join(await tempDir('mybuild-out-'), 'out');
    const p = await runCliProcess(['--root', root, 'build', '--progress', 'plain', ...flags, '--output', `type=local,dest=${out}`, ctx], { cwd: ctx });
    return { ...p, limits: p.code === 0 ? (await readFile(path.join(out, 'limits'), 'utf8')).trim().split(' ') : [] };
  };

  it('apply to the RUN\'s cgroup', async () => {
    const r = await build('-m', '64m', '--cpu-shares', '512', '--cpu-quota', '50000', '--cpu-period', '100000', '--cpuset-cpus', '0', '--no-cache');
    assert.equal(r.code, 0, r.stderr);
    if (v2) assert.deepEqual(r.limits, ['67108864', '50000', '100000', r.limits[3], '0']);
    else assert.deepEqual(r.limits, ['67108864', '50000', '100000', '512', '0']);
  });

  it('are not part of the RUN\'s cache key: a build with other limits reuses it', async () => {
    const first = await build('--memory', '80m', '--no-cache');
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.limits[0], String(80 * 1024 * 1024));
    const again = await build('--memory', '96m');
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /RUN .*\n#\d+ CACHED/);
    assert.deepEqual(again.limits, first.limits);
  });

  it('refuses bad values, naming the flag', async () => {
    for (const [flags, re] of [
      [['--memory', '0'], /invalid --memory value: 0: must be > 0/],
      [['--memory', 'lots'], /invalid --memory "lots": expected a size/],
      [['--memory-swap', '1g'], /--memory-swap needs --memory/],
      [['--memory', '1g', '--memory-swap', '512m'], /--memory-swap 512m is smaller than --memory 1g/],
      [['--cpu-shares', '0'], /invalid --cpu-shares value: 0: must be > 0/],
      [['--cpu-quota', 'x'], /invalid --cpu-quota value: x/],
      [['--cpuset-cpus', '3-1'], /invalid --cpuset-cpus value: 3-1/],
    ] as const) {
      const r = await build(...flags);
      assert.equal(r.code, 2, `${flags.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, re, flags.join(' '));
    }
  });
});

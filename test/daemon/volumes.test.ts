/**
 * Volumes, healthchecks, commit and import through the REAL docker CLI against the daemon:
 * `docker volume create/ls/inspect/rm/prune`, `-v NAME:/path` (created on first use, the image's
 * content copied up into an empty volume, shared between containers), anonymous volumes of
 * `-v /path` removed with `rm -v` and `run --rm`, `--volumes-from`, a volume in use refused,
 * the local driver's options (a tmpfs volume), `--health-cmd` reaching healthy/unhealthy in
 * inspect, `docker commit` with changes, `docker import` from stdin; and no mount left under the
 * store after the daemon stops.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { baseImageSkipReason } from '../helpers/base-image.js';
import { apiRequest, docker, dockerMissing, loadBusybox, notRoot, runcMissing, startTestDaemon, tarOf, type TestDaemon } from './helpers.js';

const skip = dockerMissing || notRoot || runcMissing || baseImageSkipReason();

async function mountsUnder(dir: string): Promise<string[]> {
  return (await readFile('/proc/self/mountinfo', 'utf8')).split('\n').map((l) => l.split(' ')[4] ?? '').filter((m) => m.startsWith(`${dir}/`));
}

async function ok(d: TestDaemon, args: string[], input?: Buffer): Promise<string> {
  const r = await docker(d, args, input ? { input } : {});
  assert.equal(r.code, 0, `docker ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

describe('volumes, healthchecks, commit and import through the docker CLI', { skip, concurrency: false }, () => {
  let d: TestDaemon;
  before(async () => {
    d = await startTestDaemon();
    await loadBusybox(d);
  });
  after(async () => {
    const ids = (await docker(d, ['ps', '-aq'])).stdout.split('\n').filter(Boolean);
    if (ids.length) await docker(d, ['rm', '-f', '-v', ...ids]);
    const root = d.root;
    await d?.stop();
    assert.deepEqual(await mountsUnder(root), [], 'no mount is left under the store');
  });

  it('volume create, ls (filters), inspect, rm, prune', async () => {
    assert.equal((await ok(d, ['volume', 'create', '--label', 'k=v', 'vol1'])).trim(), 'vol1');
    const ins = JSON.parse(await ok(d, ['volume', 'inspect', 'vol1'])) as Record<string, unknown>[];
    assert.equal(ins[0].Name, 'vol1');
    assert.equal(ins[0].Driver, 'local');
    assert.deepEqual(ins[0].Labels, { k: 'v' });
    assert.match(String(ins[0].Mountpoint), /\/volumes\/vol1\/_data$/);
    assert.equal((await ok(d, ['volume', 'ls', '-q', '--filter', 'label=k=v'])).trim(), 'vol1');
    assert.equal((await ok(d, ['volume', 'ls', '-q', '--filter', 'name=nomatch'])).trim(), '');
    const bad = await docker(d, ['volume', 'create', '-d', 'nosuch', 'vol2']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /plugin "nosuch" not found/);
    assert.match((await docker(d, ['volume', 'create', '-o', 'bogus=1', 'vol3'])).stderr, /invalid option key: "bogus"/);
    await ok(d, ['volume', 'rm', 'vol1']);
    assert.match((await docker(d, ['volume', 'inspect', 'vol1'])).stderr, /no such volume/);
    // API 1.42+: prune removes anonymous volumes only, unless all=true (as dockerd).
    await ok(d, ['volume', 'create', 'named1']);
    const anon = JSON.parse((await apiRequest(d, 'POST', '/volumes/create', { Labels: { 'com.docker.volume.anonymous': '' } })).body) as { Name: string };
    const pruned = JSON.parse((await apiRequest(d, 'POST', '/volumes/prune')).body) as { VolumesDeleted: string[] };
    assert.deepEqual(pruned.VolumesDeleted, [anon.Name]);
    const all = JSON.parse((await apiRequest(d, 'POST', `/volumes/prune?filters=${encodeURIComponent('{"all":["true"]}')}`)).body) as { VolumesDeleted: string[] };
    assert.deepEqual(all.VolumesDeleted, ['named1']);
  });

  it('-v NAME:/path: created on first use, image content copied up, shared, in use refused', async () => {
    // /etc of the image is copied into the empty volume, with its files' modes.
    assert.match(await ok(d, ['run', '--name', 'w1', '-v', 'data:/etc', 'busybox', 'sh', '-c', 'ls /etc; echo hi > /etc/mine']), /passwd/);
    assert.equal(await ok(d, ['run', '--rm', '-v', 'data:/x', 'busybox', 'cat', '/x/mine']), 'hi\n');
    assert.match(await ok(d, ['run', '--rm', '-v', 'data:/x', 'busybox', 'ls', '/x']), /passwd/);
    const inUse = await docker(d, ['volume', 'rm', 'data']);
    assert.notEqual(inUse.code, 0);
    assert.match(inUse.stderr, /volume is in use/);
    const mounts = JSON.parse(await ok(d, ['inspect', '-f', '{{json .Mounts}}', 'w1'])) as Record<string, unknown>[];
    assert.equal(mounts[0].Type, 'volume');
    assert.equal(mounts[0].Name, 'data');
    assert.equal(mounts[0].Destination, '/etc');
    await ok(d, ['rm', 'w1']);
    await ok(d, ['volume', 'rm', 'data']);
    // nocopy: the volume stays empty.
    assert.equal(await ok(d, ['run', '--rm', '-v', 'empty:/etc:nocopy', 'busybox', 'ls', '/etc']), '');
    await ok(d, ['volume', 'rm', 'empty']);
  });

  it('anonymous volumes (-v /path), rm -v, run --rm, --volumes-from', async () => {
    await ok(d, ['run', '--name', 'a1', '-v', '/store', 'busybox', 'sh', '-c', 'echo kept > /store/f']);
    const m = (JSON.parse(await ok(d, ['inspect', '-f', '{{json .Mounts}}', 'a1'])) as { Name: string; Destination: string }[])[0];
    assert.equal(m.Destination, '/store');
    assert.match(m.Name, /^[0-9a-f]{64}$/);
    assert.equal(await ok(d, ['run', '--rm', '--volumes-from', 'a1:ro', 'busybox', 'cat', '/store/f']), 'kept\n');
    const ro = await docker(d, ['run', '--rm', '--volumes-from', 'a1:ro', 'busybox', 'touch', '/store/g']);
    assert.notEqual(ro.code, 0, 'a :ro volumes-from mount is read-only');
    await ok(d, ['rm', '-v', 'a1']);
    assert.doesNotMatch(await ok(d, ['volume', 'ls', '-q']), new RegExp(m.Name), 'rm -v removed the anonymous volume');
    const before = await ok(d, ['volume', 'ls', '-q']);
    await ok(d, ['run', '--rm', '-v', '/tmpvol', 'busybox', 'true']);
    assert.equal(await ok(d, ['volume', 'ls', '-q']), before, 'run --rm removed its anonymous volume');
  });

  it('local driver options: a tmpfs volume is mounted while used, unmounted after', async () => {
    await ok(d, ['volume', 'create', '-o', 'type=tmpfs', '-o', 'device=tmpfs', '-o', 'o=size=1m', 'tv']);
    assert.match(await ok(d, ['run', '--rm', '-v', 'tv:/t', 'busybox', 'sh', '-c', 'grep " /t " /proc/mounts']), /tmpfs/);
    assert.deepEqual((await mountsUnder(d.root)).filter((p) => p.includes('/volumes/tv/')), [], 'unmounted once no container uses it');
    await ok(d, ['volume', 'rm', 'tv']);
  });

  it('healthcheck: --health-cmd turns healthy, a failing one unhealthy, in inspect and ps', async () => {
    await ok(d, ['run', '-d', '--name', 'hok', '--health-cmd', 'true', '--health-interval', '1s', '--health-retries', '1', 'busybox', 'sleep', '60']);
    await ok(d, ['run', '-d', '--name', 'hbad', '--health-cmd', 'echo nope; exit 1', '--health-interval', '1s', '--health-retries', '2', 'busybox', 'sleep', '60']);
    const health = async (n: string) => JSON.parse(await ok(d, ['inspect', '-f', '{{json .State.Health}}', n])) as { Status: string; FailingStreak: number; Log: { ExitCode: number; Output: string }[] };
    let good = await health('hok');
    assert.equal(good.Status, 'starting');
    let bad = await health('hbad');
    for (let i = 0; i < 100 && (good.Status !== 'healthy' || bad.Status !== 'unhealthy'); i++) {
      await new Promise((r) => setTimeout(r, 100));
      good = await health('hok');
      bad = await health('hbad');
    }
    assert.equal(good.Status, 'healthy');
    assert.equal(good.Log[0].ExitCode, 0);
    assert.equal(bad.Status, 'unhealthy');
    assert.ok(bad.FailingStreak >= 2);
    assert.equal(bad.Log[0].Output, 'nope\n');
    assert.match(await ok(d, ['ps', '--filter', 'name=hok', '--format', '{{.Status}}']), /\(healthy\)/);
    assert.deepEqual(JSON.parse(await ok(d, ['inspect', '-f', '{{json .Config.Healthcheck.Test}}', 'hok'])), ['CMD-SHELL', 'true']);
    await ok(d, ['rm', '-f', 'hok', 'hbad']);
  });

  it('commit (with changes) and import (stdin, with changes)', async () => {
    await ok(d, ['run', '--name', 'c1', 'busybox', 'sh', '-c', 'echo committed > /made']);
    const id = (await ok(d, ['commit', '-c', 'CMD ["cat", "/made"]', '-c', 'EXPOSE 8000', '-m', 'msg', 'c1', 'committed:1'])).trim();
    assert.match(id, /^sha256:[0-9a-f]{64}$/);
    assert.equal(await ok(d, ['run', '--rm', 'committed:1']), 'committed\n');
    const ins = (JSON.parse(await ok(d, ['image', 'inspect', 'committed:1'])) as Record<string, unknown>[])[0];
    assert.equal(ins.Parent, (await ok(d, ['image', 'inspect', '-f', '{{.Id}}', 'busybox'])).trim());
    assert.match(String(ins.Container), /^[0-9a-f]{64}$/);
    assert.ok(Object.keys((ins.Config as { ExposedPorts: object }).ExposedPorts).includes('8000/tcp'));
    assert.equal(ins.Comment, 'msg');
    await ok(d, ['rm', 'c1']);
    const rootfs = await tarOf([{ name: 'hello.txt', data: 'imported\n' }]);
    const imported = (await ok(d, ['import', '-c', 'CMD ["/bin/true"]', '-', 'imp:1'], rootfs)).trim();
    assert.match(imported, /^sha256:/);
    const cfg = JSON.parse(await ok(d, ['image', 'inspect', '-f', '{{json .Config.Cmd}}', 'imp:1'])) as string[];
    assert.deepEqual(cfg, ['/bin/true']);
  });
});

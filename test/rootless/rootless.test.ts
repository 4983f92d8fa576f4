/**
 * Rootless mode end to end (issue 19), as a fresh user made with `useradd -m` (Debian gives it a
 * subordinate range in /etc/subuid and /etc/subgid) and removed afterwards, with no sudo:
 * `mybuild load` of the busybox base, a build with RUN, `COPY --chown`, `USER nobody` and a RUN
 * under it, `mybuild run --rm` of the result, and the layers' tar listings hold in-image owners,
 * never the user's own ids or its subordinate ones. Steps use --network=none unless the user
 * can open /dev/net/tun (the default network's tap device), which is then tested too.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ensureBaseImage } from '../helpers/base-image.js';
import { buildSkipReason, cleanupTemp, cliSkipReason, tempDir } from '../helpers/build.js';
import { cliPath } from '../helpers/paths.js';

const have = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const skip =
  process.getuid?.() !== 0
    ? 'needs root to make and remove a user'
    : buildSkipReason() || cliSkipReason() || (['useradd', 'userdel', 'setpriv', 'newuidmap', 'newgidmap', 'unshare'].find((c) => !have(c)) ? 'needs useradd, userdel, setpriv, unshare and newuidmap/newgidmap (apt-get install uidmap)' : false);

describe('rootless: a fresh user with a subordinate range builds and runs', { skip }, () => {
  const name = `mbrl${randomBytes(3).toString('hex')}`;
  let uid = 0;
  let gid = 0;
  let home = '';
  let work = '';
  let cli = '';
  let subuid = { start: 0, count: 0 };
  let tunOpen = false;

  before(async () => {
    const add = spawnSync('useradd', ['-m', '-s', '/bin/sh', name], { encoding: 'utf8' });
    assert.equal(add.status, 0, add.stderr);
    const pw = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith(`${name}:`))!.split(':');
    uid = Number(pw[2]);
    gid = Number(pw[3]);
    home = pw[5]!;
    const line = readFileSync('/etc/subuid', 'utf8').split('\n').find((l) => l.startsWith(`${name}:`));
    if (!line) {
      // useradd without SUB_UID_* in login.defs: give it one.
      const mod = spawnSync('usermod', ['--add-subuids', '300000-365535', '--add-subgids', '300000-365535', name], { encoding: 'utf8' });
      assert.equal(mod.status, 0, mod.stderr);
    }
    const l = (line ?? `${name}:300000:65536`).split(':');
    subuid = { start: Number(l[1]), count: Number(l[2]) };
    // The bundled CLI (self-contained) and the base image where the user can read them.
    const bin = await tempDir('mybuild-rootless-bin-');
    chmodSync(bin, 0o755);
    for (const f of readdirSync(path.dirname(cliPath))) copyFileSync(path.join(path.dirname(cliPath), f), path.join(bin, f));
    for (const f of readdirSync(bin)) chmodSync(path.join(bin, f), 0o755);
    cli = path.join(bin, path.basename(cliPath));
    work = path.join(home, 'work');
    mkdirSync(work);
    const layout = await ensureBaseImage();
    const tar = spawnSync('tar', ['-cf', path.join(work, 'busybox.tar'), '-C', layout, '.']);
    assert.equal(tar.status, 0);
    writeFileSync(path.join(work, 'f'), 'data\n');
    writeFileSync(
      path.join(work, 'Dockerfile'),
      ['FROM busybox', 'RUN echo hi > /hi && id -u > /root-uid', 'COPY --chown=65534:65534 f /f', 'USER nobody', 'RUN id -u > /tmp/uid && touch /tmp/made'].join('\n') + '\n',
    );
    writeFileSync(path.join(work, 'Net.Dockerfile'), 'FROM busybox\nRUN cat /etc/resolv.conf && ls /sys/class/net\n');
    // A RUN that waits until the host side (the outer test) has listed runc's state files.
    writeFileSync(path.join(work, 'State.Dockerfile'), 'FROM busybox\nRUN sleep 2\n');
    spawnSync('chown', ['-R', `${uid}:${gid}`, work]);
    chownSync(work, uid, gid);
    tunOpen = asUser(['sh', '-c', 'test -r /dev/net/tun && test -w /dev/net/tun']).status === 0;
  });

  after(async () => {
    // userdel -r removes the home with the store (also files owned by subordinate ids) and the
    // user's /etc/subuid and /etc/subgid lines.
    spawnSync('userdel', ['-r', '-f', name], { encoding: 'utf8' });
    await cleanupTemp();
  });

  function asUser(argv: string[]) {
    return spawnSync('setpriv', ['--reuid', String(uid), '--regid', String(gid), '--init-groups', '--', ...argv], {
      encoding: 'utf8',
      cwd: work,
      env: { PATH: process.env.PATH, HOME: home, USER: name, LOGNAME: name },
    });
  }
  const mybuild = (...args: string[]) => asUser([process.execPath, cli, ...args]);

  it('loads, builds (RUN, COPY --chown, USER nobody), runs, and the layers hold in-image owners', () => {
    const load = mybuild('load', '-i', 'busybox.tar');
    assert.equal(load.status, 0, load.stderr);
    const loaded = /Loaded image: (\S+)/.exec(load.stdout)?.[1];
    assert.ok(loaded, load.stdout);
    assert.equal(mybuild('tag', loaded, 'busybox').status, 0);

    const b = mybuild('build', '--progress', 'plain', '--network', 'none', '-t', 'rl', '.');
    assert.equal(b.status, 0, b.stderr);
    // The store is the user's: $XDG_DATA_HOME/mybuild (~/.local/share/mybuild).
    assert.ok(existsSync(path.join(home, '.local/share/mybuild')), 'store under ~/.local/share/mybuild');

    const r = mybuild('run', '--rm', '--network', 'none', 'rl', 'sh', '-c', 'cat /hi /root-uid /tmp/uid; id -u; stat -c %u:%g /f');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'hi\n0\n65534\n65534\n65534:65534\n');

    const save = mybuild('save', '-o', 'rl.tar', 'rl');
    assert.equal(save.status, 0, save.stderr);
    const x = path.join(work, 'x');
    mkdirSync(x);
    assert.equal(spawnSync('tar', ['-xf', path.join(work, 'rl.tar'), '-C', x]).status, 0);
    const owners = new Map<string, string>();
    for (const blob of readdirSync(path.join(x, 'blobs/sha256'))) {
      const t = spawnSync('tar', ['--numeric-owner', '-tvf', path.join(x, 'blobs/sha256', blob)], { encoding: 'utf8' });
      if (t.status !== 0) continue; // config or manifest
      for (const l of t.stdout.split('\n').filter((s) => s !== '')) {
        const f = l.split(/\s+/);
        owners.set(f.slice(5).join(' '), f[1]!);
      }
    }
    assert.equal(owners.get('hi'), '0/0');
    assert.equal(owners.get('f'), '65534/65534');
    assert.equal(owners.get('tmp/made'), '65534/65534');
    for (const [p, o] of owners) {
      const [u] = o.split('/').map(Number);
      assert.ok(u !== uid && !(u! >= subuid.start && u! < subuid.start + subuid.count), `${p} is owned by ${o}, a host id`);
    }
  });

  it('mybuild daemon runs rootless on $XDG_RUNTIME_DIR/mybuild/mybuild.sock; a client runs a container through it', async () => {
    const runtimeDir = path.join(home, 'run');
    mkdirSync(runtimeDir, { mode: 0o700 });
    chownSync(runtimeDir, uid, gid);
    const env = { PATH: process.env.PATH, HOME: home, USER: name, LOGNAME: name, XDG_RUNTIME_DIR: runtimeDir };
    const daemon = spawn('setpriv', ['--reuid', String(uid), '--regid', String(gid), '--init-groups', '--', process.execPath, cli, 'daemon'], { cwd: work, env, stdio: 'ignore' });
    const sock = path.join(runtimeDir, 'mybuild', 'mybuild.sock');
    try {
      for (let i = 0; i < 100 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 100));
      assert.ok(existsSync(sock), `the daemon listens on ${sock}`);
      const r = spawnSync('setpriv', ['--reuid', String(uid), '--regid', String(gid), '--init-groups', '--', process.execPath, cli, '-H', `unix://${sock}`, 'run', '--rm', '--network', 'none', 'rl', 'sh', '-c', 'cat /hi; id -u'], { encoding: 'utf8', cwd: work, env });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, 'hi\n65534\n');
    } finally {
      daemon.kill('SIGTERM');
      await new Promise((r) => daemon.once('exit', r));
    }
  });

  it('runc keeps its state under $XDG_RUNTIME_DIR/mybuild/runc, not in the store; MYBUILD_SNAPSHOTTER=native forces the copying snapshotter', async () => {
    const runtimeDir = path.join(home, 'run-state');
    mkdirSync(runtimeDir, { mode: 0o700 });
    chownSync(runtimeDir, uid, gid);
    const env = { PATH: process.env.PATH, HOME: home, USER: name, LOGNAME: name, XDG_RUNTIME_DIR: runtimeDir };
    const as = (args: string[], extra: Record<string, string> = {}) =>
      spawnSync('setpriv', ['--reuid', String(uid), '--regid', String(gid), '--init-groups', '--', process.execPath, cli, ...args], { encoding: 'utf8', cwd: work, env: { ...env, ...extra } });
    // While the RUN runs, its container's state is in the runtime dir.
    const b = spawn('setpriv', ['--reuid', String(uid), '--regid', String(gid), '--init-groups', '--', process.execPath, cli, 'build', '--progress', 'plain', '--no-cache', '--network', 'none', '-f', 'State.Dockerfile', '.'], { cwd: work, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    b.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => b.once('exit', r));
    const stateFiles = (): string[] => {
      const base = path.join(runtimeDir, 'mybuild', 'runc');
      const out: string[] = [];
      for (const h of existsSync(base) ? readdirSync(base) : []) for (const c of readdirSync(path.join(base, h))) if (existsSync(path.join(base, h, c, 'state.json'))) out.push(path.join(base, h, c, 'state.json'));
      return out;
    };
    const storeState = path.join(home, '.local/share/mybuild/runtime/runc');
    let seen: string[] = [];
    let inStore: string[] = [];
    for (let i = 0; i < 200 && seen.length === 0; i++) {
      seen = stateFiles();
      inStore = existsSync(storeState) ? readdirSync(storeState) : [];
      if (seen.length === 0) await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(await exited, 0, stderr);
    assert.match(seen.join('\n'), new RegExp(`^${runtimeDir.replace(/[/.]/g, '\\$&')}/mybuild/runc/[0-9a-f]{16}/[^/]+/state\\.json$`), `runc state files seen while the RUN ran: ${JSON.stringify(seen)}`);
    assert.deepEqual(inStore, [], 'no runc state in the store while the RUN ran');
    // The copying snapshotter, forced: info says it and a RUN works on it.
    const info = as(['info'], { MYBUILD_SNAPSHOTTER: 'native' });
    assert.match(info.stdout, /^ Storage Driver: +native$/m, info.stdout);
    const n = as(['build', '-q', '--no-cache', '--network', 'none', '.'], { MYBUILD_SNAPSHOTTER: 'native' });
    assert.equal(n.status, 0, n.stderr);
  });

  it('mybuild info says rootless, with the range mapped, the snapshotter and the network', () => {
    const r = mybuild('info');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^ Rootless: +true \(65537 ids mapped\)$/m);
    assert.match(r.stdout, /^ Storage Driver: +(overlay|fuse-overlayfs|native)$/m);
    assert.match(r.stdout, /^ Default Network: +/m);
  });

  it('the default network: slirp4netns when the user can open /dev/net/tun, else a clear error', (t) => {
    const r = mybuild('build', '--progress', 'plain', '--no-cache', '-f', 'Net.Dockerfile', '.');
    if (!tunOpen) {
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, /the default network needs \/dev\/net\/tun/);
      assert.match(r.stderr, /hint: .*--network=none/);
      t.diagnostic('/dev/net/tun is not open to users here: the rootless default network is not exercised');
      return;
    }
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /nameserver 10\.0\.2\.3/);
    assert.match(r.stderr, /tap0/);
  });
});

/**
 * As a user other than root without a subordinate id range (uid 65534): rootless mode maps only
 * uid 0, so RUN steps as root work (with --network=none: this host's /dev/net/tun is not open to
 * users), a step as another user fails saying what to add to /etc/subuid; with
 * MYBUILD_ROOTLESS=0 (no user namespace) config-only builds work and a RUN says why it cannot
 * run. test/rootless/rootless.test.ts covers a user with a range.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { buildSkipReason, cleanupTemp, cliSkipReason, makeStoreRoot, tempDir } from '../helpers/build.js';
import { cliPath } from '../helpers/paths.js';

const setpriv = spawnSync('setpriv', ['--version']).status === 0 ? false : 'setpriv (util-linux) is not installed';
const userns = spawnSync('setpriv', ['--reuid', '65534', '--regid', '65534', '--clear-groups', 'unshare', '--user', '--map-root-user', 'true']).status === 0 ? false : 'unprivileged user namespaces are not available here';
const tmuxSkip = ['/usr/bin/tmux', '/bin/tmux'].some((p) => existsSync(p)) ? false : 'tmux is not installed (scripts/install-system-deps.sh)';
const readIf = (p: string): string => {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return '';
  }
};
const skip = buildSkipReason() || cliSkipReason() || setpriv || userns;

describe('builder: as a user other than root, without a subordinate id range', { skip }, () => {
  let root: string;
  let ctx: string;
  let cli: string;
  before(async () => {
    root = await makeStoreRoot();
    ctx = await tempDir('mybuild-rootless-');
    // The checkout may sit where uid 65534 cannot enter (/root/…, a mktemp -d folder): run a copy
    // of the bundled CLI (dist/bin is self-contained) from a folder that user can read.
    const bin = await tempDir('mybuild-rootless-bin-');
    chmodSync(bin, 0o755);
    for (const f of readdirSync(path.dirname(cliPath))) copyFileSync(path.join(path.dirname(cliPath), f), path.join(bin, f));
    for (const f of readdirSync(bin)) chmodSync(path.join(bin, f), 0o755);
    cli = path.join(bin, path.basename(cliPath));
    writeFileSync(path.join(ctx, 'Dockerfile'), 'FROM busybox\nRUN echo hi > /hi && id -u\n');
    writeFileSync(path.join(ctx, 'User.Dockerfile'), 'FROM busybox\nUSER nobody\nRUN id\n');
    writeFileSync(path.join(ctx, 'Meta.Dockerfile'), 'FROM busybox\nENV A=1\nLABEL l=v\n');
    for (const d of [root, ctx, path.dirname(root)]) chmodSync(d, 0o777);
    spawnSync('chmod', ['-R', 'a+rwX', root]);
  });
  after(cleanupTemp);

  const asNobody = (env: NodeJS.ProcessEnv, ...args: string[]) =>
    spawnSync('setpriv', ['--reuid', '65534', '--regid', '65534', '--clear-groups', process.execPath, cli, '--root', root, ...args], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH, HOME: ctx, ...env },
    });

  it('builds a Dockerfile that only changes the config', () => {
    const r = asNobody({}, 'build', '-q', '-f', path.join(ctx, 'Meta.Dockerfile'), ctx);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^sha256:[0-9a-f]{64}$/m);
  });

  it('runs a RUN as root in the user namespace (one-id mapping)', () => {
    const r = asNobody({}, 'build', '--progress', 'plain', '--network', 'none', '-t', 'one', ctx);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /#2 [\d.]+ 0\n/, 'the step ran as uid 0 inside');
    const info = asNobody({}, 'info');
    assert.match(info.stdout, /^ Rootless: +true \(1 ids mapped\)$/m);
  });

  it('a step as another user fails saying what to add to /etc/subuid', () => {
    const r = asNobody({}, 'build', '--progress', 'plain', '--network', 'none', '-f', path.join(ctx, 'User.Dockerfile'), ctx);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /this step runs as 65534:65534, but rootless mode maps only uid 0/);
    assert.match(r.stderr, /hint: give \S+ a subordinate id range: usermod --add-subuids/);
    assert.doesNotMatch(r.stderr, /EPERM|EINVAL|bug in mybuild/);
  });

  it('Ctrl-C in a terminal cancels a rootless build cleanly (delivered once, not twice: "canceled", exit 130)', { skip: tmuxSkip }, async () => {
    writeFileSync(path.join(ctx, 'Sleep.Dockerfile'), 'FROM busybox\nRUN echo started; sleep 30\n');
    const out = path.join(ctx, 'ctrl-c.out');
    // sh traps INT with a handler (reset to the default in its children) so it lives to write the status.
    const script = path.join(ctx, 'ctrl-c.sh');
    writeFileSync(script, `#!/bin/sh\ntrap 'echo trapped >> ${out}' INT\n${process.execPath} ${cli} --root ${root} build --no-cache --network none --progress plain -f ${path.join(ctx, 'Sleep.Dockerfile')} ${ctx} > ${out} 2>&1\necho EXIT=$? >> ${out}\nsleep 30\n`);
    chmodSync(script, 0o755);
    const socket = `mybuild-rootless-${process.pid}`;
    const tmux = (...args: string[]) => spawnSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
    try {
      const start = tmux('new-session', '-d', '-s', 't', '-x', '100', '-y', '30', `setpriv --reuid 65534 --regid 65534 --clear-groups env PATH=${process.env.PATH} HOME=${ctx} ${script}`);
      assert.equal(start.status, 0, start.stderr);
      const wait = async (re: RegExp) => {
        for (let i = 0; i < 150; i++) {
          if (re.test(readIf(out))) return;
          await new Promise((r) => setTimeout(r, 100));
        }
        assert.fail(`timed out waiting for ${re} in: ${readIf(out)}`);
      };
      // The echo's output line, not the step header that names it (C-c during the mount killed mount).
      await wait(/started\n/);
      tmux('send-keys', '-t', 't', 'C-c');
      await wait(/EXIT=\d+/);
      const text = readIf(out);
      assert.match(text, /error: canceled/);
      assert.match(text, /EXIT=130/);
    } finally {
      tmux('kill-server');
    }
  });

  it('SIGKILL of the outer mybuild ends the inner one (pdeathsig); the next build removes the step it left', async () => {
    const marker = `mark-${path.basename(ctx)}`;
    writeFileSync(path.join(ctx, 'Kill.Dockerfile'), `FROM busybox\nRUN echo started; sleep 60; echo ${marker}\n`);
    const child = spawn('setpriv', ['--reuid', '65534', '--regid', '65534', '--clear-groups', process.execPath, cli, '--root', root, 'build', '--no-cache', '--network', 'none', '--progress', 'plain', '-f', path.join(ctx, 'Kill.Dockerfile'), ctx], {
      env: { PATH: process.env.PATH, HOME: ctx },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const pids = (pattern: string) => (spawnSync('pgrep', ['-f', pattern], { encoding: 'utf8' }).stdout ?? '').split('\n').filter((s) => s.trim() !== '').map(Number).filter((p) => p !== child.pid);
    for (let i = 0; i < 150 && !/started/.test(err); i++) await new Promise((r) => setTimeout(r, 100));
    assert.match(err, /started/);
    assert.ok(pids(`Kill.Dockerfile`).length >= 1, 'the inner mybuild runs');
    child.kill('SIGKILL');
    let left: number[] = [];
    for (let i = 0; i < 50; i++) {
      await new Promise((r) => setTimeout(r, 100));
      left = pids('Kill.Dockerfile');
      if (left.length === 0) break;
    }
    assert.deepEqual(left, [], 'the inner mybuild died with the outer one');
    // The step's container outlives them (as with root); the next command's cleanup ends it.
    const next = asNobody({}, 'build', '-q', '--network', 'none', '-f', path.join(ctx, 'Meta.Dockerfile'), ctx);
    assert.equal(next.status, 0, next.stderr);
    const r = asNobody({}, 'build', '-q', '--network', 'none', ctx);
    assert.equal(r.status, 0, r.stderr);
    for (let i = 0; i < 100 && pids(marker).length > 0; i++) await new Promise((res) => setTimeout(res, 100));
    assert.deepEqual(pids(marker), [], 'the killed step\'s container is gone');
  });

  it('with MYBUILD_ROOTLESS=0, refuses a RUN with one clear error and a hint, not EPERM from deep inside', () => {
    const r = asNobody({ MYBUILD_ROOTLESS: '0' }, 'build', '--progress', 'plain', ctx);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /needs the image's filesystem, which mybuild can only mount and run as root/);
    assert.match(r.stderr, /hint: run mybuild as root, or without MYBUILD_ROOTLESS=0/);
    assert.doesNotMatch(r.stderr, /EPERM|bug in mybuild/);
  });
});

/**
 * Client mode: the mybuild CLI with -H gives the same results as without (build, images, tag,
 * rmi, version, inspect, run, ps, logs, rm, stop, kill, save/load, push/pull) against a daemon
 * over the same store root; commands without a client path are refused; `daemon -H` is the
 * daemon's (repeatable) listen address.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { baseImageSkipReason, ensureBaseImage } from '../helpers/base-image.js';
import { runCli } from '../helpers/cli.js';
import { registryMissing, startRegistry } from '../helpers/registry.js';
import { splitGlobalOptions } from '../../src/cli.js';
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
    // --digests and --format json go through the daemon too (they read the client's --root before).
    for (const flags of [['--digests'], ['--format', 'json'], ['--no-trunc', 'busybox']]) {
      const l = await local(['images', ...flags]);
      const r2 = await remote(['images', ...flags]);
      assert.equal(r2.code, 0, r2.err);
      assert.equal(r2.out, l.out, flags.join(' '));
      assert.match(r2.out, /busybox/);
    }
    // An error answers the same (message, hint, exit code): rmi of an ID with several tags.
    const id = (await local(['images', '-q', 'app'])).out.split('\n')[0];
    const lc = await local(['rmi', id]);
    const rc = await remote(['rmi', id]);
    assert.equal(lc.code, 1);
    assert.match(lc.err, /must be forced[\s\S]*hint: /);
    assert.deepEqual([rc.code, rc.out, rc.err], [lc.code, lc.out, lc.err]);
    const v = await remote(['version']);
    assert.equal(v.code, 0, v.err);
    assert.match(v.out, /Client:[\s\S]*Server:[\s\S]*API version: 1\.45/);
  });
  it('inspect prints the same JSON with and without -H; a missing image fails the same way', async () => {
    const a = await local(['inspect', 'app:remote', 'busybox']);
    const b = await remote(['inspect', 'app:remote', 'busybox']);
    assert.equal(a.code, 0, a.err);
    assert.equal(b.code, 0, b.err);
    assert.equal(b.out, a.out);
    assert.equal(JSON.parse(b.out).length, 2);
    const m = await remote(['inspect', 'no-such-image:1']);
    assert.equal(m.code, 1);
    assert.match(m.err, /no-such-image/);
  });

  it('run: same stdout, stderr and exit code with and without -H; --rm removes; -i forwards stdin', async () => {
    const args = ['run', '--rm', 'busybox', 'sh', '-c', 'echo out; echo err >&2; exit 3'];
    const a = await local(args);
    const b = await remote(args);
    assert.equal(a.code, 3, a.err);
    assert.equal(b.code, 3, b.err);
    assert.equal(b.out, 'out\n');
    assert.equal(b.err, 'err\n');
    assert.equal(b.out, a.out);
    const i = await runCli(['-H', d.host, 'run', '--rm', '-i', 'busybox', 'sh', '-c', 'tr a-z A-Z; exit 4'], { stdin: 'hello stdin\n' });
    assert.equal(i.code, 4, i.err);
    assert.equal(i.out, 'HELLO STDIN\n');
    const ps = await local(['ps', '-a', '-q']);
    assert.equal(ps.out, '', 'every --rm container is gone');
    const bad = await remote(['run', '--rm', 'busybox', '/no/such/binary']);
    const badLocal = await local(['run', '--rm', 'busybox', '/no/such/binary']);
    assert.equal(bad.code, badLocal.code, bad.err);
    assert.ok(bad.code >= 125, `exit ${bad.code}`);
  });

  it('ps, logs, stop, kill and rm through -H match the daemonless commands', async () => {
    const r = await local(['run', '--name', 'c-logs', 'busybox', 'sh', '-c', 'echo one; echo two >&2']);
    assert.equal(r.code, 0, r.err);
    const norm = (s: string) => s.replace(/\d+ seconds?|Less than a second|About a minute/g, 'T');
    const lp = await local(['ps', '-a']);
    const rp = await remote(['ps', '-a']);
    assert.equal(rp.code, 0, rp.err);
    assert.equal(norm(rp.out), norm(lp.out));
    assert.match(rp.out, /c-logs/);
    assert.equal((await remote(['ps', '-a', '-q', '--no-trunc'])).out, (await local(['ps', '-a', '-q', '--no-trunc'])).out);
    const ll = await local(['logs', 'c-logs']);
    const rl = await remote(['logs', 'c-logs']);
    assert.equal(rl.code, 0, rl.err);
    assert.equal(rl.out, 'one\n');
    assert.equal(rl.err, 'two\n');
    assert.deepEqual([rl.out, rl.err], [ll.out, ll.err]);
    // A detached container through the daemon: stop and kill.
    const det = await remote(['run', '-d', '--name', 'c-long', 'busybox', 'sleep', '300']);
    assert.equal(det.code, 0, det.err);
    assert.match(det.out, /^[0-9a-f]{64}\n$/);
    assert.match((await remote(['ps'])).out, /c-long/);
    const st = await remote(['stop', '-t', '1', 'c-long']);
    assert.equal(st.code, 0, st.err);
    assert.equal(st.out, 'c-long\n');
    assert.doesNotMatch((await remote(['ps'])).out, /c-long/);
    const k = await remote(['kill', 'c-long']);
    assert.equal(k.code, 1, 'killing a stopped container fails');
    assert.match(k.err, /not running/);
    const rm = await remote(['rm', 'c-logs', 'c-long', 'no-such-container']);
    assert.equal(rm.code, 1);
    assert.equal(rm.out, 'c-logs\nc-long\n');
    assert.match(rm.err, /no-such-container/);
    assert.equal((await local(['ps', '-a', '-q'])).out, '');
  });

  it('run -d -p 127.0.0.1:PORT:80 through -H: busybox httpd answers on the host port; ps shows the port', async () => {
    const srv = net.createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as net.AddressInfo).port;
    await new Promise((r) => srv.close(r));
    const det = await remote(['run', '-d', '--name', 'c-web', '-p', `127.0.0.1:${port}:80`, 'busybox', 'httpd', '-f', '-p', '80', '-h', '/etc']);
    assert.equal(det.code, 0, det.err);
    try {
      let body = '';
      for (let i = 0; i < 100 && !body; i++) {
        body = await new Promise<string>((resolve) => {
          http.get(`http://127.0.0.1:${port}/passwd`, (res) => {
            let b = '';
            res.on('data', (c: Buffer) => (b += c.toString()));
            res.on('end', () => resolve(res.statusCode === 200 ? b : ''));
          }).on('error', () => setTimeout(() => resolve(''), 100));
        });
      }
      assert.match(body, /^root:x:0:0:/m);
      assert.match((await remote(['ps'])).out, new RegExp(`127\\.0\\.0\\.1:${port}->80/tcp +c-web`));
    } finally {
      await remote(['kill', 'c-web']);
      await remote(['rm', 'c-web']);
    }
  });

  it('save -> rmi -> load round trip through -H keeps the image ID', async () => {
    const id = (JSON.parse((await local(['inspect', 'app:remote'])).out) as { Id: string }[])[0].Id;
    const file = path.join(d.dir, 'saved.tar');
    const s = await remote(['save', '-o', file, 'app:remote']);
    assert.equal(s.code, 0, s.err);
    assert.ok((await stat(file)).size > 1024);
    assert.equal((await remote(['rmi', 'app:remote'])).code, 0);
    assert.notEqual((await local(['inspect', 'app:remote'])).code, 0);
    const l = await remote(['load', '-i', file]);
    assert.equal(l.code, 0, l.err);
    assert.equal(l.out, 'Loaded image: app:remote\n');
    assert.equal((JSON.parse((await local(['inspect', 'app:remote'])).out) as { Id: string }[])[0].Id, id);
    const oci = await remote(['save', '--format', 'oci', '-o', file, 'app:remote']);
    assert.equal(oci.code, 2);
    assert.match(oci.err, /--format oci is not supported with -H/);
  });

  it('push and pull through -H against a registry give the daemonless lines', { skip: registryMissing }, async () => {
    const reg = await startRegistry('anonymous');
    try {
      const name = `${reg.domain}/client/app:1`;
      assert.equal((await remote(['tag', 'app:remote', name])).code, 0);
      const p = await remote(['push', name]);
      assert.equal(p.code, 0, p.err);
      assert.match(p.out, new RegExp(`^The push refers to repository \\[${reg.domain}/client/app\\]\\n`));
      const last = p.out.trim().split('\n').at(-1)!;
      assert.match(last, /^1: digest: sha256:[0-9a-f]{64} size: \d+$/);
      const lp = await local(['push', name]);
      assert.equal(lp.code, 0, lp.err);
      assert.equal(lp.out.trim().split('\n').at(-1), last, 'same manifest digest daemonless');
      assert.equal((await remote(['rmi', name])).code, 0);
      const pl = await remote(['pull', name]);
      assert.equal(pl.code, 0, pl.err);
      const digest = last.split(' ')[2];
      assert.match(pl.out, /^1: Pulling from /);
      assert.match(pl.out, new RegExp(`Digest: ${digest}\\n`));
      assert.match(pl.out, /Status: Downloaded newer image for/);
      assert.ok(pl.out.endsWith(`${name}\n`));
      const lpl = await local(['pull', name]);
      assert.equal(lpl.code, 0, lpl.err);
      const rpl = await remote(['pull', name]);
      assert.equal(rpl.out, lpl.out, 'an up-to-date pull prints the same lines');
    } finally {
      await reg.stop();
    }
  });

  it("a build through -H pulls FROM a Basic-auth registry with the client's docker config credentials, and fails clearly without", { skip: registryMissing }, async () => {
    const reg = await startRegistry('basic');
    try {
      const cfgDir = path.join(d.dir, 'client-docker-config');
      await mkdir(cfgDir, { recursive: true });
      await writeFile(path.join(cfgDir, 'config.json'), JSON.stringify({ auths: { [reg.domain]: { auth: Buffer.from('alice:wonderland').toString('base64') } } }));
      const emptyCfg = path.join(d.dir, 'empty-docker-config');
      await mkdir(emptyCfg, { recursive: true });
      const base = `${reg.domain}/private/bb:1`;
      assert.equal((await local(['tag', 'busybox', base])).code, 0);
      const p = await runCli(['--root', d.root, 'push', '-q', base], { env: { DOCKER_CONFIG: cfgDir } });
      assert.equal(p.code, 0, p.err);
      assert.equal((await local(['rmi', base])).code, 0);
      const dir = path.join(d.dir, 'private-ctx');
      await mkdir(dir, { recursive: true });
      await writeFile(path.join(dir, 'Dockerfile'), `FROM ${base}\nRUN echo built-from-private > /marker\n`);
      const denied = await runCli(['-H', d.host, 'build', '-q', dir], { env: { DOCKER_CONFIG: emptyCfg } });
      assert.notEqual(denied.code, 0);
      assert.match(denied.err, new RegExp(`${base.replace(/[.]/g, '\\.')}[\\s\\S]*(401|unauthorized|authentication|credentials)`, 'i'));
      const ok = await runCli(['-H', d.host, 'build', '-q', '-t', 'from-private:1', dir], { env: { DOCKER_CONFIG: cfgDir } });
      assert.equal(ok.code, 0, ok.err);
      assert.match(ok.out, /^sha256:[0-9a-f]{64}\n$/);
      const r = await local(['run', '--rm', 'from-private:1', 'cat', '/marker']);
      assert.equal(r.out, 'built-from-private\n');
    } finally {
      await reg.stop();
    }
  });

  it('commands without a client path refuse -H instead of acting on the local store', async () => {
    for (const cmd of [['prune'], ['system', 'df'], ['cache', 'ls'], ['import', '-', 'x:1']]) {
      const r = await remote(cmd);
      assert.equal(r.code, 2, `${cmd[0]}: ${r.err}`);
      assert.match(r.err, new RegExp(`"mybuild ${cmd[0]}" cannot run through a daemon`));
    }
  });
});

describe('mybuild daemon -H', () => {
  it('after the daemon command, -H/--host are listen addresses (repeatable), not the client host', () => {
    const g = splitGlobalOptions(['daemon', '-H', 'unix:///tmp/a.sock', '--host', 'tcp://127.0.0.1:2375', '--host=unix:///tmp/b.sock'], {});
    assert.equal(g.host, undefined);
    assert.deepEqual(g.rest, ['daemon', '-H', 'unix:///tmp/a.sock', '--host', 'tcp://127.0.0.1:2375', '--host=unix:///tmp/b.sock']);
  });
  it('before a command, and for other commands, -H is still the client host', () => {
    assert.equal(splitGlobalOptions(['-H', 'unix:///x.sock', 'daemon'], {}).host, 'unix:///x.sock');
    const g = splitGlobalOptions(['images', '-H', 'unix:///y.sock'], {});
    assert.equal(g.host, 'unix:///y.sock');
    assert.deepEqual(g.rest, ['images']);
  });
});

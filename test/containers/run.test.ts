import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { registryMissing, startRegistry } from '../helpers/registry.js';
import { assertNoLeftovers, collect, makeRoot, skipReason, spawnCli, until } from './helpers.js';

describe('mybuild run', { skip: skipReason }, () => {
  let root: string;
  const cli = (args: string[], opts: { stdin?: string; env?: NodeJS.ProcessEnv } = {}) => runCli(['--root', root, ...args], opts);

  before(async () => {
    root = await makeRoot();
  });
  after(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('run --rm echo hi: output, exit code 0, nothing left behind', async () => {
    const r = await cli(['run', '--rm', 'busybox', 'echo', 'hi']);
    assert.equal(r.err, '');
    assert.equal(r.out, 'hi\n');
    assert.equal(r.code, 0);
    await assertNoLeftovers(root);
  });

  it('propagates the exit code', async () => {
    const r = await cli(['run', '--rm', 'busybox', 'sh', '-c', 'exit 7']);
    assert.equal(r.code, 7);
    await assertNoLeftovers(root);
  });

  it('Entrypoint/Cmd: image defaults, args replace Cmd, --entrypoint drops Cmd, --entrypoint ""', async () => {
    const rows = [
      { name: 'defaults', args: ['epimg'], want: 'ep default\n' },
      { name: 'args replace Cmd', args: ['epimg', 'a', 'b'], want: 'ep a b\n' },
      { name: '--entrypoint drops the image Cmd', args: ['--entrypoint', 'echo', 'epimg'], want: '\n' },
      { name: '--entrypoint with args', args: ['--entrypoint=echo', 'epimg', 'x', 'y'], want: 'x y\n' },
      { name: '--entrypoint "" uses the args alone', args: ['--entrypoint', '', 'epimg', 'echo', 'plain'], want: 'plain\n' },
    ];
    for (const row of rows) {
      const r = await cli(['run', '--rm', ...row.args]);
      assert.equal(r.code, 0, `${row.name}: ${r.err}`);
      assert.equal(r.out, row.want, row.name);
    }
  });

  it('-e (K=V and K from the environment), -w, -u, hostname = short id', async () => {
    const r = await cli(['run', '--rm', '-e', 'FOO=bar', '-e', 'FROMHOST', '-e', 'UNSET_HERE', '-w', '/tmp', '-u', 'nobody', 'busybox', 'sh', '-c', 'echo "$FOO $FROMHOST ${UNSET_HERE-unset}"; pwd; id -u; id -g; hostname | wc -c'], {
      env: { FROMHOST: 'h1' },
    });
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(r.out.split('\n'), ['bar h1 unset', '/tmp', '65534', '65534', '13', '']);
    const u = await cli(['run', '--rm', '-u', '1234:5678', 'busybox', 'id']);
    assert.match(u.out, /^uid=1234 gid=5678/);
    const bad = await cli(['run', '--rm', '-u', 'nosuchuser', 'busybox', 'id']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.err, /unable to find user nosuchuser/);
    await assertNoLeftovers(root);
  });

  it('-v binds a host directory read-only and read-write', async () => {
    const host = await mkdtemp(path.join(os.tmpdir(), 'mybuild-vol-'));
    try {
      await writeFile(path.join(host, 'f'), 'from-host\n');
      const ro = await cli(['run', '--rm', '-v', `${host}:/data:ro`, 'busybox', 'sh', '-c', 'cat /data/f; touch /data/new']);
      assert.equal(ro.out, 'from-host\n');
      assert.notEqual(ro.code, 0);
      assert.match(ro.err, /Read-only file system/);
      assert.equal(existsSync(path.join(host, 'new')), false);
      const rw = await cli(['run', '--rm', '-v', `${host}:/data`, 'busybox', 'sh', '-c', 'echo written > /data/new']);
      assert.equal(rw.code, 0, rw.err);
      assert.equal(await readFile(path.join(host, 'new'), 'utf8'), 'written\n');
      await assertNoLeftovers(root);
    } finally {
      await rm(host, { recursive: true, force: true });
    }
  });

  it('bad -v, bad --network, unknown flag: clear errors, nothing created', async () => {
    const rel = await cli(['run', '--rm', '-v', 'data:/data', 'busybox', 'true']);
    assert.equal(rel.code, 125); // docker run's own errors exit 125
    assert.match(rel.err, /invalid volume specification "data:\/data": the source "data" is not an absolute host path/);
    const missing = await cli(['run', '--rm', '-v', '/nonexistent-mybuild-src:/data', 'busybox', 'true']);
    assert.equal(missing.code, 125); // docker run's own errors exit 125
    assert.match(missing.err, /no such file or directory on the host/);
    const mode = await cli(['run', '--rm', '-v', '/tmp:/data:rx', 'busybox', 'true']);
    assert.match(mode.err, /unknown mode "rx"/);
    const net = await cli(['run', '--rm', '--network', 'mynet', 'busybox', 'true']);
    assert.equal(net.code, 125); // docker run's own errors exit 125
    assert.match(net.err, /network "mynet" is not supported: expected "default", "none" or "host"/);
    const pub = await cli(['run', '--rm', '-p', '80', 'busybox', 'true']);
    assert.equal(pub.code, 125);
    assert.match(pub.err, /invalid publish "80": a host port is required/);
    const pubNone = await cli(['run', '--rm', '--network', 'none', '-p', '8080:80', 'busybox', 'true']);
    assert.equal(pubNone.code, 125);
    assert.match(pubNone.err, /published ports \(-p\) need the default network, not --network none/);
    const flag = await cli(['run', '--bogus', 'busybox']);
    assert.equal(flag.code, 125);
    assert.match(flag.err, /unknown flag: --bogus/);
    await assertNoLeftovers(root);
  });

  it('-i forwards stdin', async () => {
    const r = await cli(['run', '--rm', '-i', 'busybox', 'sh', '-c', 'cat; echo done'], { stdin: 'hello\nworld\n' });
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, 'hello\nworld\ndone\n');
  });

  it('-t gives the process a terminal', async () => {
    const r = await cli(['run', '--rm', '-t', 'busybox', 'tty']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^\/dev\/pts\/\d+\r?\n$/);
    const no = await cli(['run', '--rm', 'busybox', 'tty']);
    assert.notEqual(no.code, 0);
    assert.match(no.out, /not a tty/);
  });

  it('a missing executable exits 127 with the runtime error', async () => {
    const r = await cli(['run', '--rm', 'busybox', 'nosuchcmd']);
    assert.equal(r.code, 127);
    assert.match(r.err, /executable file not found/);
    await assertNoLeftovers(root);
  });

  it('unknown image: "Unable to find image … locally", then the pull error', async () => {
    const r = await cli(['run', '--rm', '127.0.0.1:1/nosuch:1', 'true']);
    assert.equal(r.err.split('\n')[0], "Unable to find image '127.0.0.1:1/nosuch:1' locally");
    assert.equal(r.code, 125, r.err);
    await assertNoLeftovers(root);
  });

  it('pulls a missing image from the registry, then runs it', { skip: registryMissing }, async () => {
    const reg = await startRegistry('anonymous');
    const root2 = await mkdtemp(path.join(os.tmpdir(), 'mybuild-ct-pull-'));
    try {
      const name = `${reg.domain}/ct/bb:1`;
      assert.equal((await cli(['tag', 'busybox', name])).code, 0);
      const p = await cli(['push', name]);
      assert.equal(p.code, 0, p.err);
      const r = await runCli(['--root', root2, 'run', '--rm', name, 'echo', 'pulled']);
      assert.equal(r.code, 0, r.err);
      assert.equal(r.out, 'pulled\n');
      assert.match(r.err, new RegExp(`^Unable to find image '${name}' locally\n`));
      const again = await runCli(['--root', root2, 'run', '--rm', name, 'true']);
      assert.equal(again.err, '', 'no pull the second time');
      await assertNoLeftovers(root2);
    } finally {
      await reg.stop();
      await rm(root2, { recursive: true, force: true });
    }
  });

  it('a kept container: ps -a, logs, name in use, rm (by name and ID prefix)', async () => {
    const r = await cli(['run', '--name', 'keep1', 'busybox', 'sh', '-c', 'echo to-out; echo to-err >&2; exit 3']);
    assert.equal(r.code, 3);
    const ps = await cli(['ps', '-a']);
    const lines = ps.out.trimEnd().split('\n');
    assert.match(lines[0], /^CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+PORTS\s+NAMES$/);
    const row = lines.find((l) => l.endsWith(' keep1'));
    assert.ok(row, ps.out);
    assert.match(row, /^[0-9a-f]{12}\s+busybox\s+"sh -c echo to-out; …"\s+.+ ago\s+Exited \(3\) .+ ago\s+keep1$/);
    assert.equal((await cli(['ps'])).out.includes('keep1'), false, 'ps without -a lists running ones only');
    const q = await cli(['ps', '-a', '-q']);
    assert.match(q.out, /^[0-9a-f]{12}\n$/);
    const id = q.out.trim();

    const logs = await cli(['logs', 'keep1']);
    assert.equal(logs.out, 'to-out\n');
    assert.equal(logs.err, 'to-err\n');
    const ts = await cli(['logs', '-t', id.slice(0, 6)]);
    assert.match(ts.out, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z to-out\n$/);

    const dup = await cli(['run', '--name', 'keep1', 'busybox', 'true']);
    assert.equal(dup.code, 125); // docker run's own errors exit 125
    assert.match(dup.err, /The container name "\/keep1" is already in use by container "[0-9a-f]{64}"/);

    const unknown = await cli(['rm', 'nosuch-container']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.err, /No such container: nosuch-container/);

    const r2 = await cli(['run', 'busybox', 'true']);
    assert.equal(r2.code, 0);
    const all = (await cli(['ps', '-a', '-q'])).out.trim().split('\n');
    assert.equal(all.length, 2);
    const other = all.find((x) => x !== id)!;
    const rm1 = await cli(['rm', 'keep1', other.slice(0, 8)]);
    assert.equal(rm1.code, 0, rm1.err);
    assert.equal(rm1.out, `keep1\n${other.slice(0, 8)}\n`);
    await assertNoLeftovers(root);
  });

  it('SIGTERM to mybuild run is forwarded; the container ends and nothing is left', async () => {
    const child = spawnCli(root, ['run', '--rm', 'busybox', 'sh', '-c', 'trap "echo got-term; exit 42" TERM; echo ready; while true; do sleep 0.1; done']);
    const c = collect(child);
    await until(() => c.out().includes('ready'), 20_000, 'the container to start');
    child.kill('SIGTERM');
    assert.equal(await c.exit, 42, c.err());
    assert.equal(c.out(), 'ready\ngot-term\n');
    await assertNoLeftovers(root);
  });

  it('-p 127.0.0.1:PORT:80: busybox httpd in the container answers on the host port (slirp4netns forwarding)', async () => {
    const port = await freePort();
    const child = spawnCli(root, ['run', '--rm', '--name', 'published', '-p', `127.0.0.1:${port}:80`, 'busybox', 'httpd', '-f', '-p', '80', '-h', '/etc']);
    const c = collect(child);
    try {
      let body = '';
      await until(async () => {
        body = await get(`http://127.0.0.1:${port}/passwd`);
        return body !== '';
      }, 20_000, 'httpd to answer on the published port');
      assert.match(body, /^root:x:0:0:/m);
      assert.match((await cli(['ps'])).out, new RegExp(`127\\.0\\.0\\.1:${port}->80/tcp +published`));
    } finally {
      // httpd as pid 1 ignores SIGTERM (as under docker): kill it.
      await cli(['kill', 'published']);
    }
    await c.exit;
    assert.equal(await get(`http://127.0.0.1:${port}/passwd`), '', 'the forward ends with the container');
    await assertNoLeftovers(root);
  });
});

/** A free TCP port on 127.0.0.1 (closed again). */
async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** The body of a 200 answer, '' for anything else or no answer. */
function get(url: string): Promise<string> {
  return new Promise((resolve) => {
    http
      .get(url, { timeout: 2000 }, (res) => {
        let b = '';
        res.on('data', (d: Buffer) => (b += d.toString()));
        res.on('end', () => resolve(res.statusCode === 200 ? b : ''));
      })
      .on('timeout', function (this: http.ClientRequest) {
        this.destroy();
      })
      .on('error', () => resolve(''));
  });
}

/**
 * The default (`sandbox`) network of RuncExecutor: its own namespace reaching the outside
 * through slirp4netns, with nothing changed in the host's namespace, nothing left running after
 * a step (success, failure, abort, SIGKILL of mybuild), and published ports through slirp4netns'
 * port forwarding. Outside reachability is checked against Debian's mirror; those tests skip
 * when the host itself cannot reach it.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { BuildError } from '../../src/errors.js';
import { execCapture } from '../../src/runtime/exec.js';
import { cleanupStale, resolveRuntime, RuncExecutor } from '../../src/runtime/executor.js';
import type { ExecSpec } from '../../src/runtime/spec.js';
import { createSnapshotter, type Snapshotter } from '../../src/runtime/snapshotter.js';
import { sandboxResolvConf } from '../../src/runtime/usernet.js';
import { DEBIAN_MIRROR_RELEASE, hostNetworkState, hostReaches } from '../helpers/host-network.js';

const BUSYBOX = '/bin/busybox';
const MIRROR = DEBIAN_MIRROR_RELEASE;
const skip =
  process.getuid?.() !== 0
    ? 'needs root (mounts, runc)'
    : !existsSync(BUSYBOX)
      ? `${BUSYBOX} is absent (install busybox-static: scripts/install-system-deps.sh)`
      : !(await execCapture('sh', ['-c', 'command -v slirp4netns']).then((r) => r.code === 0))
        ? 'slirp4netns is not installed (scripts/install-system-deps.sh)'
        : await resolveRuntime('runc').then(
            () => false as const,
            () => 'runc is not installed (scripts/install-system-deps.sh)',
          );

/** Our children whose command is `name` (slirp4netns, the unshare holder's `cat`). */
async function childrenNamed(pid: number, name: string): Promise<number[]> {
  const r = await execCapture('pgrep', ['-P', String(pid), '-x', name]);
  return r.stdout.toString().split('\n').filter((s) => s.trim() !== '').map(Number);
}

/** Whether `pid` is gone or a zombie. */
async function dead(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  return stat === '' || / Z /.test(stat.slice(stat.lastIndexOf(')')));
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

const APPLETS = ['sh', 'true', 'cat', 'ls', 'sleep', 'wget', 'head', 'nslookup', 'ip', 'httpd', 'echo', 'mkdir'];

describe('sandbox network (slirp4netns)', { skip }, () => {
  let base: string;
  let sn: Snapshotter;
  let ex: RuncExecutor;
  let n = 0;
  let online = false;

  before(async () => {
    base = await mkdtemp(path.join(os.tmpdir(), 'mybuild-usernet-'));
    sn = await createSnapshotter(path.join(base, 'snapshots'));
    await sn.prepare('base-key');
    const dir = (await sn.layerDirs('base-key')).dir;
    for (const d of ['bin', 'etc', 'proc', 'sys', 'dev', 'tmp', 'root', 'www']) await mkdir(path.join(dir, d));
    await copyFile(BUSYBOX, path.join(dir, 'bin/busybox'));
    for (const a of APPLETS) await symlink('busybox', path.join(dir, 'bin', a));
    await writeFile(path.join(dir, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
    await writeFile(path.join(dir, 'www/index.html'), 'served from the container\n');
    await sn.commit('base', 'base-key');
    ex = new RuncExecutor({ root: path.join(base, 'exec') });
    online = await hostReaches();
  });

  after(async () => {
    if (!base) return;
    await cleanupStale(path.join(base, 'exec'));
    await sn?.cleanup({ all: true });
    await rm(base, { recursive: true, force: true });
  });

  async function run(args: string[], extra: Partial<ExecSpec> = {}, signal?: AbortSignal) {
    const mounts = await sn.prepare(`run-${n++}`, 'base');
    const out = new PassThrough();
    const err = new PassThrough();
    let stdout = '';
    let stderr = '';
    out.on('data', (c: Buffer) => (stdout += c.toString()));
    err.on('data', (c: Buffer) => (stderr += c.toString()));
    const spec: ExecSpec = { args, env: [], cwd: '/', user: { uid: 0, gid: 0 }, hostname: 'buildkitsandbox', network: 'sandbox', stdout: out, stderr: err, ...extra };
    const status = await ex.run(spec, mounts, signal);
    return { status, stdout, stderr };
  }

  it('has lo and tap0 (10.0.2.100), a default route, and resolv.conf naming slirp4netns\' DNS', async () => {
    const r = await run(['sh', '-c', 'ls /sys/class/net; ip -o -4 addr show tap0; ip route; cat /etc/resolv.conf']);
    assert.equal(r.status.exitCode, 0, r.stderr);
    assert.match(r.stdout, /^lo\ntap0\n/);
    assert.match(r.stdout, /inet 10\.0\.2\.100\/24/);
    assert.match(r.stdout, /default via 10\.0\.2\.2 dev tap0/);
    assert.match(r.stdout, /^nameserver 10\.0\.2\.3$/m);
  });

  it('resolv.conf keeps the host\'s search and options lines, not its nameservers', () => {
    assert.equal(sandboxResolvConf('nameserver 127.0.0.53\nsearch example.org\noptions ndots:2\n'), 'nameserver 10.0.2.3\nsearch example.org\noptions ndots:2\n');
  });

  it('reaches the outside (HTTP to Debian\'s mirror, DNS) and leaves the host\'s links, addresses, routes and iptables rules unchanged', async (t) => {
    if (!online) {
      t.skip(`the host itself cannot reach ${MIRROR}`);
      return;
    }
    const before = await hostNetworkState();
    const r = await run(['sh', '-c', `wget -q -O- ${MIRROR} | head -1; nslookup deb.debian.org >/dev/null && echo resolved`]);
    assert.equal(r.status.exitCode, 0, r.stderr);
    assert.equal(r.stdout, 'Origin: Debian\nresolved\n');
    assert.equal(await hostNetworkState(), before);
  });

  it('the host\'s loopback is not reachable (--disable-host-loopback)', async () => {
    const server = http.createServer((_q, s) => s.end('host loopback'));
    await new Promise<void>((r) => server.listen(0, '0.0.0.0', r));
    try {
      const port = (server.address() as net.AddressInfo).port;
      const r = await run(['sh', '-c', `wget -q -T 3 -O- http://10.0.2.2:${port}/ || echo unreachable`]);
      assert.equal(r.stdout.trim(), 'unreachable');
    } finally {
      server.close();
    }
  });

  it('--network=none still has only lo', async () => {
    const r = await run(['ls', '/sys/class/net'], { network: 'none' });
    assert.equal(r.stdout, 'lo\n');
  });

  it('leaves no slirp4netns or namespace holder behind: after success, failure and abort', async () => {
    await run(['true']);
    const failed = await run(['sh', '-c', 'exit 3']);
    assert.equal(failed.status.exitCode, 3);
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 700);
    await assert.rejects(run(['sleep', '60'], {}, ac.signal), (e: unknown) => e instanceof BuildError && e.code === 'CANCELED');
    assert.deepEqual(await childrenNamed(process.pid, 'slirp4netns'), []);
    assert.deepEqual(await childrenNamed(process.pid, 'cat'), []);
  });

  it('slirp4netns and the holder exit when mybuild is SIGKILLed', async () => {
    const here = path.dirname(fileURLToPath(import.meta.url));
    const executorJs = path.resolve(here, '../../src/runtime/executor.js');
    const mounts = await sn.prepare(`run-${n++}`, 'base');
    const root = path.join(base, 'exec-killed');
    const script = `
      const { RuncExecutor } = await import(${JSON.stringify(executorJs)});
      const ex = new RuncExecutor({ root: ${JSON.stringify(root)} });
      await ex.run({ args: ['sleep', '60'], env: [], cwd: '/', user: { uid: 0, gid: 0 }, hostname: 'h', network: 'sandbox' }, ${JSON.stringify(mounts)});
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: 'ignore' });
    try {
      let slirp: number[] = [];
      let holder: number[] = [];
      for (let i = 0; i < 100 && (slirp.length === 0 || holder.length === 0); i++) {
        await new Promise((r) => setTimeout(r, 100));
        slirp = await childrenNamed(child.pid!, 'slirp4netns');
        holder = await childrenNamed(child.pid!, 'cat');
      }
      assert.equal(slirp.length, 1, 'slirp4netns started');
      assert.equal(holder.length, 1, 'the holder started');
      child.kill('SIGKILL');
      const pids = [...slirp, ...holder];
      for (let i = 0; i < 50 && !(await Promise.all(pids.map(dead))).every(Boolean); i++) await new Promise((r) => setTimeout(r, 100));
      for (const p of pids) assert.ok(await dead(p), `pid ${p} exited with mybuild`);
    } finally {
      child.kill('SIGKILL');
      await cleanupStale(root);
    }
  });

  it('publishes a port: busybox httpd in the container answers on 127.0.0.1:PORT of the host', async () => {
    const port = await freePort();
    const ac = new AbortController();
    const running = run(['httpd', '-f', '-p', '80', '-h', '/www'], { publish: [{ hostIp: '127.0.0.1', hostPort: port, containerPort: 80, protocol: 'tcp' }] }, ac.signal);
    running.catch(() => undefined);
    try {
      let body = '';
      for (let i = 0; i < 50 && body === ''; i++) {
        body = await new Promise<string>((resolve) => {
          http.get(`http://127.0.0.1:${port}/index.html`, (res) => {
            let b = '';
            res.on('data', (d: Buffer) => (b += d.toString()));
            res.on('end', () => resolve(res.statusCode === 200 ? b : ''));
          }).on('error', () => setTimeout(() => resolve(''), 100));
        });
      }
      assert.equal(body, 'served from the container\n');
    } finally {
      ac.abort();
      await assert.rejects(running, (e: unknown) => e instanceof BuildError && e.code === 'CANCELED');
    }
    // The forward is gone with the step.
    await assert.rejects(new Promise((resolve, reject) => net.connect(port, '127.0.0.1').on('connect', resolve).on('error', reject)));
  });

  it('refuses published ports on --network=none', async () => {
    await assert.rejects(run(['true'], { network: 'none', publish: [{ hostPort: 1, containerPort: 80, protocol: 'tcp' }] }), (e: unknown) => e instanceof BuildError && e.code === 'INVALID_ARGUMENT' && /published ports/.test(e.message));
  });
});

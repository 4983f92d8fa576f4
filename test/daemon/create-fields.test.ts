/**
 * POST /containers/create applies or refuses every field (src/daemon/create-request.ts), seen
 * with the REAL docker CLI: labels, env without '=', read-only rootfs, cap-add/cap-drop,
 * privileged, tmpfs, binds and mounts, init (tini), extra hosts, DNS, group-add, ulimits,
 * memory/cpu/pids limits in the container's cgroup, and inspect's HostConfig; a field mybuild
 * cannot apply is a 400 naming it.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { baseImageSkipReason } from '../helpers/base-image.js';
import { apiRequest, docker, loadBusybox, dockerMissing, notRoot, runCmd, runcMissing, startTestDaemon, type TestDaemon } from './helpers.js';

const skip = dockerMissing || notRoot || runcMissing || baseImageSkipReason();

describe('create fields through the docker CLI', { skip, concurrency: false }, () => {
  let d: TestDaemon;
  before(async () => {
    d = await startTestDaemon();
    await loadBusybox(d);
  });
  after(async () => {
    await docker(d, ['rm', '-f', ...(await docker(d, ['ps', '-aq'])).stdout.split('\n').filter(Boolean)]);
    await d?.stop();
  });

  const run = async (args: string[]): Promise<string> => {
    const r = await docker(d, ['run', '--rm', ...args]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    return r.stdout;
  };

  it('labels are kept, listed and inspected; env KEY without = unsets the image variable', async () => {
    const c = await apiRequest(d, 'POST', '/v1.41/containers/create', { Image: 'busybox', Cmd: ['true'], Labels: { 'com.example.a': '1', b: 'two' }, Env: ['PATH', 'A=1'] });
    assert.equal(c.status, 201, c.body);
    const id = (JSON.parse(c.body) as { Id: string }).Id;
    const labels = await docker(d, ['inspect', '--format', '{{json .Config.Labels}}', id]);
    assert.deepEqual(JSON.parse(labels.stdout), { 'com.example.a': '1', b: 'two' });
    const env = await docker(d, ['inspect', '--format', '{{json .Config.Env}}', id]);
    assert.ok(!(JSON.parse(env.stdout) as string[]).some((e) => e.startsWith('PATH=')), env.stdout);
    const ps = await docker(d, ['ps', '-a', '--format', '{{.Labels}}']);
    assert.match(ps.stdout, /b=two/);
    await docker(d, ['rm', id]);
  });

  it('--read-only, --tmpfs, -v and --mount type=bind|tmpfs are applied', async () => {
    const host = path.join(d.dir, 'bind');
    await mkdir(host, { recursive: true });
    await writeFile(path.join(host, 'f'), 'from host\n');
    const out = await run(['--read-only', '--tmpfs', '/scratch:size=1m', '-v', `${host}:/b:ro`, '--mount', `type=bind,source=${host},target=/c`, '--mount', 'type=tmpfs,target=/t', 'busybox', 'sh', '-c',
      'touch /x 2>/dev/null && echo rootfs-writable; echo ok > /scratch/y && cat /scratch/y; cat /b/f; touch /b/z 2>/dev/null && echo bind-writable; echo w > /c/w; echo t > /t/t && cat /t/t; grep " /scratch " /proc/mounts | cut -d" " -f3,4']);
    assert.equal(out.split('\n').slice(0, 4).join('\n'), 'ok\nfrom host\nt\ntmpfs rw,nosuid,nodev,noexec,relatime,size=1024k');
    assert.ok(existsSync(path.join(host, 'w')), 'the --mount bind is writable');
  });

  it('--cap-add/--cap-drop and --privileged change the capability set', async () => {
    const capEff = (s: string): bigint => BigInt(`0x${/CapEff:\s*([0-9a-f]+)/.exec(s)![1]}`);
    const base = capEff(await run(['busybox', 'cat', '/proc/self/status']));
    const added = capEff(await run(['--cap-add', 'NET_ADMIN', '--cap-drop', 'CHOWN', 'busybox', 'cat', '/proc/self/status']));
    assert.equal(added & (1n << 12n), 1n << 12n, 'CAP_NET_ADMIN added');
    assert.equal(added & 1n, 0n, 'CAP_CHOWN dropped');
    assert.equal(base & (1n << 12n), 0n);
    const priv = capEff(await run(['--privileged', 'busybox', 'cat', '/proc/self/status']));
    assert.ok(priv & (1n << 21n), 'CAP_SYS_ADMIN with --privileged');
  });

  it('--init runs tini as PID 1; --add-host, --dns, --dns-search, --group-add, --ulimit, --hostname', async () => {
    const out = await run(['--init', '--add-host', 'db.example:10.1.2.3', '--dns', '10.9.9.9', '--dns-search', 'example.org', '--group-add', '1234', '--ulimit', 'nofile=512:1024', '-h', 'myhost', 'busybox', 'sh', '-c',
      'cat /proc/1/cmdline | tr "\\0" " "; echo; grep db.example /etc/hosts; cat /etc/resolv.conf; id -G; ulimit -n; ulimit -Hn; hostname']);
    const lines = out.split('\n');
    assert.match(lines[0], /^\/sbin\/docker-init -- sh -c/);
    assert.equal(lines[1], '10.1.2.3\tdb.example');
    assert.ok(out.includes('nameserver 10.9.9.9\nsearch example.org\n'), out);
    assert.match(out, /^0 (.* )?1234$/m);
    assert.match(out, /\n512\n1024\nmyhost\n/);
  });

  it('--memory, --cpus, --cpu-shares and --pids-limit land in the container cgroup; inspect shows them', async () => {
    const c = await docker(d, ['run', '-d', '--memory', '64m', '--cpus', '0.5', '--cpu-shares', '512', '--pids-limit', '77', 'busybox', 'sleep', '30']);
    assert.equal(c.code, 0, c.stderr);
    const id = c.stdout.trim();
    // runc makes the directory, then writes the limits: poll until the expected value shows (5 s at most).
    const read = async (ctl: string, file: string, want: string): Promise<string> => {
      const p = `/sys/fs/cgroup/${ctl}/mybuild/${id}/${file}`;
      let v = '';
      for (let i = 0; i < 100 && v !== want; i++) {
        v = existsSync(p) ? (await runCmd('cat', [p])).stdout.trim() : '';
        if (v !== want) await new Promise((r) => setTimeout(r, 50));
      }
      return v;
    };
    assert.equal(await read('memory', 'memory.limit_in_bytes', String(64 * 1024 * 1024)), String(64 * 1024 * 1024));
    assert.equal(await read('cpu', 'cpu.cfs_quota_us', '50000'), '50000');
    assert.equal(await read('cpu', 'cpu.shares', '512'), '512');
    assert.equal(await read('pids', 'pids.max', '77'), '77');
    const hc = JSON.parse((await docker(d, ['inspect', '--format', '{{json .HostConfig}}', id])).stdout) as Record<string, unknown>;
    assert.equal(hc.Memory, 64 * 1024 * 1024);
    assert.equal(hc.NanoCpus, 500000000);
    assert.equal(hc.CpuShares, 512);
    assert.equal(hc.PidsLimit, 77);
    assert.deepEqual(hc.LogConfig, { Type: 'json-file', Config: {} });
    assert.equal((await docker(d, ['rm', '-f', id])).code, 0);
  });

  it('PortBindings are recorded as published ports (inspect HostConfig.PortBindings)', async () => {
    const c = await docker(d, ['create', '-p', '127.0.0.1:18081:80', 'busybox', 'true']);
    assert.equal(c.code, 0, c.stderr);
    const id = c.stdout.trim();
    const hc = JSON.parse((await docker(d, ['inspect', '--format', '{{json .HostConfig}}', id])).stdout);
    assert.deepEqual(hc.PortBindings, { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '18081' }] });
    assert.equal(hc.NetworkMode, 'default');
    assert.equal((await docker(d, ['rm', '-f', id])).code, 0);
  });

  it('fields mybuild cannot apply are refused with a 400 naming them', async () => {
    const before = (await docker(d, ['ps', '-aq'])).stdout;
    // PortBindings are applied (published through slirp4netns, net19); publishing all exposed ports is not.
    const all = await docker(d, ['create', '-P', '--expose', '80', 'busybox', 'true']);
    assert.notEqual(all.code, 0);
    assert.match(all.stderr, /HostConfig\.PublishAllPorts is not supported by mybuild/);
    const restart = await docker(d, ['create', '--restart', 'sometimes', 'busybox', 'true']);
    assert.match(restart.stderr, /invalid restart policy|sometimes/);
    const log = await docker(d, ['create', '--log-driver', 'syslog', 'busybox', 'true']);
    assert.match(log.stderr, /HostConfig\.LogConfig\.Type "syslog" is not supported by mybuild/);
    const sec = await docker(d, ['create', '--security-opt', 'seccomp=unconfined', 'busybox', 'true']);
    assert.match(sec.stderr, /HostConfig\.SecurityOpt is not supported by mybuild/);
    const ps = await docker(d, ['ps', '-aq']);
    assert.equal(ps.stdout, before, 'a refused create leaves no container');
    const raw = await apiRequest(d, 'POST', '/containers/create', { Image: 'busybox', Cmd: ['true'], MacAddress: '', HostConfig: { Devices: [], Links: ['other:alias'] } });
    assert.equal(raw.status, 400);
    assert.match(raw.body, /HostConfig\.Links is not supported by mybuild/);
    // VolumesFrom is applied: an unknown container is a 404.
    const from = await apiRequest(d, 'POST', '/containers/create', { Image: 'busybox', Cmd: ['true'], HostConfig: { VolumesFrom: ['other'] } });
    assert.equal(from.status, 404);
    assert.match(from.body, /No such container: other/);
    const unknown = await apiRequest(d, 'POST', '/containers/create', { Image: 'busybox', Cmd: ['true'], SomethingNew: { a: 1 } });
    assert.match(unknown.body, /Config\.SomethingNew is not supported by mybuild/);
  });
});

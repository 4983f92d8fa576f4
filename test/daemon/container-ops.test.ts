/**
 * The container endpoints beyond run/logs/stop, through the REAL docker CLI and Debian's
 * docker-compose: exec (attached with stdin, exit code, user, detached, inspect), top, stats
 * --no-stream (from the cgroup), pause/unpause (freezer), rename, restart, events, system df,
 * container and image prune; docker-compose up/ps/logs/down of one project beside another,
 * whose container `down --remove-orphans` leaves running.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { baseImageSkipReason } from '../helpers/base-image.js';
import { apiRequest, docker, loadBusybox, dockerMissing, notRoot, runCmd, runcMissing, startTestDaemon, type TestDaemon } from './helpers.js';

const skip = dockerMissing || notRoot || runcMissing || baseImageSkipReason();
const COMPOSE = '/usr/bin/docker-compose';

describe('container operations through the docker CLI', { skip, concurrency: false }, () => {
  let d: TestDaemon;
  before(async () => {
    d = await startTestDaemon();
    await loadBusybox(d);
  });
  after(async () => {
    const ids = (await docker(d, ['ps', '-aq'])).stdout.split('\n').filter(Boolean);
    if (ids.length) await docker(d, ['rm', '-f', ...ids]);
    await d?.stop();
  });

  it('exec: output, stdin, exit code, user, detached, inspect', async () => {
    assert.equal((await docker(d, ['run', '-d', '--name', 'ex', 'busybox', 'sleep', '60'])).code, 0);
    const r = await docker(d, ['exec', 'ex', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
    assert.equal(r.code, 3);
    assert.equal(r.stdout, 'out\n');
    assert.equal(r.stderr, 'err\n');
    const cat = await docker(d, ['exec', '-i', 'ex', 'cat'], { input: Buffer.from('piped\n') });
    assert.equal(cat.stdout, 'piped\n');
    assert.equal((await docker(d, ['exec', '-u', 'nobody', '-e', 'X=1', '-w', '/tmp', 'ex', 'sh', '-c', 'id -u; echo $X; pwd'])).stdout, '65534\n1\n/tmp\n');
    assert.equal((await docker(d, ['exec', '-d', 'ex', 'sh', '-c', 'echo bg > /bg'])).code, 0);
    let bg = '';
    for (let i = 0; i < 50 && bg !== 'bg\n'; i++) bg = (await docker(d, ['exec', 'ex', 'cat', '/bg'])).stdout;
    assert.equal(bg, 'bg\n');
    const created = await apiRequest(d, 'POST', '/containers/ex/exec', { Cmd: ['true'] });
    const id = (JSON.parse(created.body) as { Id: string }).Id;
    const ins = JSON.parse((await apiRequest(d, 'GET', `/exec/${id}/json`)).body) as Record<string, unknown>;
    assert.equal(ins.Running, false);
    assert.equal(ins.ExitCode, null);
    assert.equal(ins.ContainerID, (await docker(d, ['inspect', '-f', '{{.Id}}', 'ex'])).stdout.trim());
    const stopped = await docker(d, ['create', 'busybox', 'true']);
    const e = await docker(d, ['exec', stopped.stdout.trim(), 'true']);
    assert.notEqual(e.code, 0);
    assert.match(e.stderr, /is not running/);
  });

  it('top, stats --no-stream, pause/unpause, rename, restart', async () => {
    const top = await docker(d, ['top', 'ex']);
    assert.equal(top.code, 0, top.stderr);
    assert.match(top.stdout, /sleep 60/);
    assert.doesNotMatch(top.stdout, /node|mybuild/, 'only the container processes');
    const st = await docker(d, ['stats', '--no-stream', '--format', '{{.Name}} {{.PIDs}}', 'ex']);
    assert.equal(st.stdout.trim(), 'ex 1');
    assert.equal((await docker(d, ['pause', 'ex'])).code, 0);
    const id = (await docker(d, ['inspect', '-f', '{{.Id}}', 'ex'])).stdout.trim();
    assert.equal((await runCmd('cat', [`/sys/fs/cgroup/freezer/mybuild/${id}/freezer.state`])).stdout.trim(), existsSync('/sys/fs/cgroup/freezer') ? 'FROZEN' : '');
    assert.equal((await docker(d, ['inspect', '-f', '{{.State.Status}} {{.State.Paused}}', 'ex'])).stdout.trim(), 'paused true');
    assert.deepEqual((await docker(d, ['ps', '--filter', 'status=paused', '--format', '{{.Names}}'])).stdout.trim(), 'ex');
    assert.equal((await docker(d, ['unpause', 'ex'])).code, 0);
    assert.equal((await docker(d, ['inspect', '-f', '{{.State.Status}}', 'ex'])).stdout.trim(), 'running');
    assert.equal((await docker(d, ['rename', 'ex', 'ex2'])).code, 0);
    assert.equal((await docker(d, ['inspect', '-f', '{{.Name}}', id])).stdout.trim(), '/ex2');
    const started = (await docker(d, ['inspect', '-f', '{{.State.StartedAt}}', 'ex2'])).stdout.trim();
    assert.equal((await docker(d, ['restart', '-t', '1', 'ex2'])).code, 0);
    const after = (await docker(d, ['inspect', '-f', '{{.State.Status}} {{.State.StartedAt}}', 'ex2'])).stdout.trim().split(' ');
    assert.equal(after[0], 'running');
    assert.notEqual(after[1], started);
  });

  it('events, system df, container and image prune', async () => {
    const ev = await docker(d, ['events', '--since', '10m', '--until', '0s', '--filter', 'event=rename', '--format', '{{.Action}} {{.Actor.Attributes.name}}']);
    assert.equal(ev.code, 0, ev.stderr);
    assert.equal(ev.stdout.trim(), 'rename ex2');
    const df = await docker(d, ['system', 'df', '--format', '{{.Type}} {{.TotalCount}}']);
    assert.match(df.stdout, /^Images 1$/m);
    const keep = await docker(d, ['create', '--label', 'keep=1', 'busybox', 'true']);
    const drop = await docker(d, ['create', 'busybox', 'true']);
    const pr = await docker(d, ['container', 'prune', '-f', '--filter', 'label!=keep']);
    assert.equal(pr.code, 0, pr.stderr);
    assert.match(pr.stdout, new RegExp(drop.stdout.trim()));
    const left = (await docker(d, ['ps', '-a', '-q', '--no-trunc'])).stdout;
    assert.match(left, new RegExp(keep.stdout.trim()));
    assert.doesNotMatch(left, new RegExp(drop.stdout.trim()));
    const ctx = path.join(d.dir, 'ctx');
    await mkdir(ctx, { recursive: true });
    await writeFile(path.join(ctx, 'Dockerfile'), 'FROM busybox\nRUN echo 1 > /v\n');
    assert.equal((await docker(d, ['build', '-t', 'v:1', '.'], { cwd: ctx })).code, 0);
    await writeFile(path.join(ctx, 'Dockerfile'), 'FROM busybox\nRUN echo 2 > /v\n');
    assert.equal((await docker(d, ['build', '-t', 'v:1', '.'], { cwd: ctx })).code, 0);
    assert.equal((await docker(d, ['images', '-f', 'dangling=true', '-q'])).stdout.trim().split('\n').length, 1);
    const ip = await docker(d, ['image', 'prune', '-f']);
    assert.equal(ip.code, 0, ip.stderr);
    assert.match(ip.stdout, /deleted: sha256:/);
    assert.equal((await docker(d, ['images', '-f', 'dangling=true', '-q'])).stdout.trim(), '');
    assert.equal((await docker(d, ['run', '--rm', 'v:1', 'cat', '/v'])).stdout, '2\n');
  });

  it('start answers once the process runs: top and pause right after run -d; attach?logs=1 replays the output', async () => {
    const r = await docker(d, ['run', '-d', '--name', 'quick', 'busybox', 'sh', '-c', 'echo said; exec sleep 30']);
    assert.equal(r.code, 0, r.stderr);
    const top = await docker(d, ['top', 'quick']);
    assert.match(top.stdout, /sh -c|sleep 30/);
    assert.equal((await docker(d, ['pause', 'quick'])).code, 0);
    assert.equal((await docker(d, ['unpause', 'quick'])).code, 0);
    const got = await new Promise<Buffer>((resolve, reject) => {
      const req = http.request({ socketPath: d.socket, method: 'POST', path: '/containers/quick/attach?logs=1&stream=0&stdout=1', headers: { Connection: 'Upgrade', Upgrade: 'tcp' } });
      req.on('upgrade', (_res, sock) => {
        const chunks: Buffer[] = [];
        sock.on('data', (c: Buffer) => chunks.push(c));
        sock.on('end', () => resolve(Buffer.concat(chunks)));
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(got.subarray(8).toString(), 'said\n');
    assert.equal(got[0], 1, 'a stdout frame');
    assert.equal((await docker(d, ['rm', '-f', 'quick'])).code, 0);
  });

  it('inspect keeps Env keys sent without =; an unknown log driver gets dockerd\'s message; prune reports reclaimed space', async () => {
    const c = await apiRequest(d, 'POST', '/containers/create', { Image: 'busybox', Cmd: ['true'], Env: ['Foo', 'A=1'] });
    const id = (JSON.parse(c.body) as { Id: string }).Id;
    assert.ok((JSON.parse((await docker(d, ['inspect', '-f', '{{json .Config.Env}}', id])).stdout) as string[]).includes('Foo'));
    const bad = await docker(d, ['create', '--log-driver', 'asdf', 'busybox', 'true']);
    assert.match(bad.stderr, /logger: no log driver named 'asdf' is registered/);
    assert.equal((await docker(d, ['run', '--label', 'w=1', 'busybox', 'sh', '-c', 'head -c 100000 /dev/zero > /big'])).code, 0);
    const pr = await docker(d, ['container', 'prune', '-f', '--filter', 'label=w=1']);
    assert.match(pr.stdout, /Total reclaimed space: 100(\.\d+)?kB/);
    await docker(d, ['rm', '-f', id]);
  });

  it('restart policies: always and on-failure:N restart a container that exits on its own; stop is final', async () => {
    const a = await docker(d, ['run', '-d', '--restart', 'always', '--name', 'ra', 'busybox', 'sh', '-c', 'echo run; sleep 0.3']);
    assert.equal(a.code, 0, a.stderr);
    const f = await docker(d, ['run', '-d', '--restart', 'on-failure:2', '--name', 'rf', 'busybox', 'sh', '-c', 'exit 1']);
    assert.equal(f.code, 0, f.stderr);
    const count = async (n: string) => Number((await docker(d, ['inspect', '-f', '{{.RestartCount}}', n])).stdout.trim());
    for (let i = 0; i < 60 && ((await count('ra')) < 2 || (await count('rf')) < 2); i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok((await count('ra')) >= 2, 'always restarted it');
    assert.equal(await count('rf'), 2, 'on-failure:2 restarted it twice');
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(await count('rf'), 2, 'and not a third time');
    assert.equal((await docker(d, ['inspect', '-f', '{{.HostConfig.RestartPolicy.Name}} {{.HostConfig.RestartPolicy.MaximumRetryCount}}', 'rf'])).stdout.trim(), 'on-failure 2');
    assert.equal((await docker(d, ['stop', '-t', '1', 'ra'])).code, 0);
    const n = await count('ra');
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(await count('ra'), n, 'a stopped container stays stopped');
    assert.equal((await docker(d, ['inspect', '-f', '{{.State.Status}}', 'ra'])).stdout.trim(), 'exited');
    const logs = (await docker(d, ['logs', 'ra'])).stdout.split('\n').filter((l) => l === 'run').length;
    assert.ok(logs >= 3, `one output per run: ${logs}`);
    const conflict = await docker(d, ['create', '--rm', '--restart', 'always', 'busybox', 'true']);
    assert.notEqual(conflict.code, 0);
    await docker(d, ['rm', '-f', 'ra', 'rf']);
  });

  it('docker-compose up, ps, logs, down in one project leave another project running', { skip: existsSync(COMPOSE) ? false : 'docker-compose (Debian) is not installed' }, async () => {
    const env = { DOCKER_HOST: d.host, DOCKER_CONFIG: path.join(d.dir, 'docker-config') };
    const project = async (name: string, yml: string): Promise<string> => {
      const dir = path.join(d.dir, name);
      await mkdir(dir, { recursive: true });
      await writeFile(path.join(dir, 'docker-compose.yml'), yml);
      return dir;
    };
    const p1 = await project('p1', 'version: "2.4"\nservices:\n  web:\n    image: busybox\n    command: sh -c "echo hello from web; sleep 30"\n    network_mode: none\n  worker:\n    image: busybox\n    command: sh -c "echo worker up; sleep 30"\n    network_mode: none\n');
    const p2 = await project('p2', 'version: "2.4"\nservices:\n  other:\n    image: busybox\n    command: sleep 30\n    network_mode: none\n');
    const dc = (cwd: string, args: string[]) => runCmd(COMPOSE, args, { cwd, env });
    assert.equal((await dc(p2, ['up', '-d'])).code, 0);
    const up = await dc(p1, ['up', '-d']);
    assert.equal(up.code, 0, up.stderr);
    const ps = await dc(p1, ['ps', '--services', '--filter', 'status=running']);
    assert.deepEqual(ps.stdout.trim().split('\n').sort(), ['web', 'worker']);
    let logs = '';
    for (let i = 0; i < 20 && !/worker up/.test(logs); i++) logs = (await dc(p1, ['logs', '--no-color'])).stdout;
    assert.match(logs, /web_1 +\| hello from web/);
    assert.match(logs, /worker_1 +\| worker up/);
    const down = await dc(p1, ['down', '--remove-orphans', '-t', '1']);
    assert.equal(down.code, 0, down.stderr);
    assert.doesNotMatch(down.stderr, /p2_other/);
    const left = (await docker(d, ['ps', '--format', '{{.Names}}'])).stdout.split('\n').filter(Boolean);
    assert.ok(left.includes('p2_other_1'), `the other project's container still runs: ${left.join(', ')}`);
    assert.ok(!left.some((n) => n.startsWith('p1_')), left.join(', '));
    assert.equal((await dc(p2, ['down', '-t', '1'])).code, 0);
  });
});

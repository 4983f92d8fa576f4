/**
 * Build options through the daemon: `mybuild -H … build` refuses by name the flags the
 * legacy POST /build has no parameter for (--metadata-file, --cache-from/--cache-to, --allow,
 * --format docker, …) and sends --network and SOURCE_DATE_EPOCH; the daemon refuses the legacy
 * parameters it cannot apply (the docker CLI's --squash) and applies networkmode, extrahosts,
 * shmsize, compressed contexts and the RUN resource limits (memory, memswap, cpu*).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { baseImageSkipReason } from '../helpers/base-image.js';
import { runCli } from '../helpers/cli.js';
import { DOCKER, docker, loadBusybox, dockerMissing, notRoot, runCmd, runcMissing, startTestDaemon, type TestDaemon } from './helpers.js';

const skip = dockerMissing || notRoot || runcMissing || baseImageSkipReason();

describe('build options through the daemon', { skip, concurrency: false }, () => {
  let d: TestDaemon;
  let ctx: string;
  before(async () => {
    d = await startTestDaemon();
    await loadBusybox(d);
    ctx = path.join(d.dir, 'ctx');
    await mkdir(ctx, { recursive: true });
    await writeFile(path.join(ctx, 'Dockerfile'), 'FROM busybox\nRUN ls /sys/class/net > /nets\nCMD ["cat", "/nets"]\n');
  });
  after(async () => {
    await d?.stop();
  });

  const remote = (args: string[], env: NodeJS.ProcessEnv = {}) => runCli(['-H', d.host, 'build', ...args], { cwd: ctx, env: { ...process.env, ...env } });

  it('mybuild -H build refuses the flags the daemon cannot receive, naming them', async () => {
    for (const [flags, name] of [
      [['--metadata-file', path.join(d.dir, 'm.json')], '--metadata-file'],
      [['--cache-to', `type=local,dest=${path.join(d.dir, 'c')}`], '--cache-to'],
      [['--allow', 'security.insecure'], '--allow security.insecure'],
      [['--format', 'docker'], '--format docker'],
    ] as const) {
      const r = await remote([...flags, '.']);
      assert.notEqual(r.code, 0, `${name} was accepted`);
      assert.match(r.err, new RegExp(`${name.replace(/[.]/g, '\\.')} is not supported with -H`));
    }
  });

  it('--network none and SOURCE_DATE_EPOCH reach the daemon build', async () => {
    const host = await remote(['--network', 'host', '-q', '-t', 'net:host', '.']);
    assert.equal(host.code, 0, host.err);
    const none = await remote(['--network', 'none', '-q', '-t', 'net:none', '.']);
    assert.equal(none.code, 0, none.err);
    const nets = async (tag: string) => (await docker(d, ['run', '--rm', tag])).stdout.split('\n').filter(Boolean);
    assert.deepEqual(await nets('net:none'), ['lo']);
    assert.ok((await nets('net:host')).length > 1, 'RUN saw the host network with --network host');
    const sde = await remote(['-q', '-t', 'sde:1', '.'], { SOURCE_DATE_EPOCH: '1000000000' });
    assert.equal(sde.code, 0, sde.err);
    assert.equal((await docker(d, ['inspect', '-f', '{{.Created}}', 'sde:1'])).stdout.trim(), '2001-09-09T01:46:40Z');
  });

  it('--memory and --cpu-shares reach the RUN steps of a daemon build (docker build -m, mybuild -H build)', async () => {
    const dir = path.join(d.dir, 'ctx-mem');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'Dockerfile'), 'FROM busybox\nRUN (cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes) > /mem\nCMD ["cat", "/mem"]\n');
    const a = await docker(d, ['build', '--memory', '64m', '-q', '-t', 'mem:docker', '.'], { cwd: dir });
    assert.equal(a.code, 0, a.stderr);
    assert.equal((await docker(d, ['run', '--rm', 'mem:docker'])).stdout.trim(), '67108864');
    const b = await runCli(['-H', d.host, 'build', '--memory', '96m', '--cpu-shares', '512', '--no-cache', '-q', '-t', 'mem:mybuild', '.'], { cwd: dir, env: process.env });
    assert.equal(b.code, 0, b.err);
    assert.equal((await docker(d, ['run', '--rm', 'mem:mybuild'])).stdout.trim(), '100663296');
  });

  it('the daemon refuses legacy build parameters it cannot apply, applies extrahosts, shmsize and compressed contexts', async () => {
    const m = await docker(d, ['build', '--memory-swap', '1g', '.'], { cwd: ctx });
    assert.notEqual(m.code, 0);
    assert.match(m.stderr, /build parameter memswap needs memory/);
    const hosts = path.join(d.dir, 'hosts-ctx');
    await mkdir(hosts, { recursive: true });
    await writeFile(path.join(hosts, 'Dockerfile'), 'FROM busybox\nRUN grep "1.2.3.4\ta.example" /etc/hosts && df -k /dev/shm | grep " 131072 "\nRUN echo to-stderr >&2 && exit 3\n');
    const r = await docker(d, ['build', '--add-host', 'a.example:1.2.3.4', '--shm-size', '128m', '.'], { cwd: hosts });
    assert.notEqual(r.code, 0);
    // The first RUN passed (the host entry and the shm size applied); the second fails in the legacy builder's words, its stderr in red.
    assert.match(r.stdout + r.stderr, /Step 3\/3 : RUN echo to-stderr/);
    assert.match(r.stdout + r.stderr, /\x1b\[91mto-stderr\n\x1b\[0m/);
    assert.match(r.stderr, /The command '\/bin\/sh -c echo to-stderr >&2 && exit 3' returned a non-zero code: 3/);
    // A gzip'd context tar (docker-py's gzip=True; dockerd sniffs the compression).
    const gz = await runCmd('sh', ['-c', `tar -C '${ctx}' -c . | gzip | DOCKER_HOST=${d.host} DOCKER_BUILDKIT=0 ${DOCKER} build -q -t gz:1 -`]);
    assert.equal(gz.code, 0, gz.stderr);
    const ok = await docker(d, ['build', '--network', 'none', '-q', '.'], { cwd: ctx });
    assert.equal(ok.code, 0, ok.stderr);
  });
});

/**
 * docker cp both ways, docker diff, docker export and docker history through the REAL docker
 * CLI (src/daemon/routes/archive.ts): a running container (its runtime rootfs, binds through
 * their host source) and a stopped one (its snapshot mounted for the request); writes into a
 * read-only bind or rootfs are refused; nothing outside the container is written.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { baseImageSkipReason } from '../helpers/base-image.js';
import { docker, loadBusybox, dockerMissing, notRoot, runCmd, runcMissing, startTestDaemon, type TestDaemon } from './helpers.js';

const skip = dockerMissing || notRoot || runcMissing || baseImageSkipReason();

describe('container files through the docker CLI', { skip, concurrency: false }, () => {
  let d: TestDaemon;
  let host: string;
  before(async () => {
    d = await startTestDaemon();
    await loadBusybox(d);
    host = path.join(d.dir, 'host');
    await mkdir(path.join(host, 'dir'), { recursive: true });
    await writeFile(path.join(host, 'h.txt'), 'from host\n');
    await writeFile(path.join(host, 'dir', 'x'), 'x\n');
    await mkdir(path.join(d.dir, 'bind'));
  });
  after(async () => {
    const ids = (await docker(d, ['ps', '-aq'])).stdout.split('\n').filter(Boolean);
    if (ids.length) await docker(d, ['rm', '-f', ...ids]);
    await d?.stop();
  });

  it('docker cp in and out of a running container, docker diff and export', async () => {
    const r = await docker(d, ['run', '-d', '--name', 'c1', '-v', `${path.join(d.dir, 'bind')}:/b`, 'busybox', 'sh', '-c', 'echo inside > /tmp/in.txt; sleep 60']);
    assert.equal(r.code, 0, r.stderr);
    for (let i = 0; i < 50 && (await docker(d, ['exec', 'c1', 'test', '-f', '/tmp/in.txt'])).code !== 0; i++);
    const out = path.join(host, 'out.txt');
    assert.equal((await docker(d, ['cp', 'c1:/tmp/in.txt', out])).code, 0);
    assert.equal(await readFile(out, 'utf8'), 'inside\n');
    assert.equal((await docker(d, ['cp', path.join(host, 'h.txt'), 'c1:/tmp/'])).code, 0);
    assert.equal((await docker(d, ['exec', 'c1', 'cat', '/tmp/h.txt'])).stdout, 'from host\n');
    assert.equal((await docker(d, ['cp', path.join(host, 'dir'), 'c1:/tmp/d2'])).code, 0);
    assert.equal((await docker(d, ['exec', 'c1', 'cat', '/tmp/d2/x'])).stdout, 'x\n');
    assert.equal((await docker(d, ['cp', path.join(host, 'h.txt'), 'c1:/b/'])).code, 0);
    assert.equal(await readFile(path.join(d.dir, 'bind', 'h.txt'), 'utf8'), 'from host\n', 'a copy under a bind lands in its host source');
    const diff = await docker(d, ['diff', 'c1']);
    assert.match(diff.stdout, /^C \/tmp$/m);
    assert.match(diff.stdout, /^A \/tmp\/in\.txt$/m);
    const exp = await runCmd('sh', ['-c', `DOCKER_HOST=${d.host} ${'/usr/local/bin/docker'} export c1 | tar -t`]);
    assert.match(exp.stdout, /^tmp\/in\.txt$/m);
    assert.match(exp.stdout, /^bin\/busybox$/m);
  });

  it('a stopped container: cp out and in through its snapshot; read-only targets refused', async () => {
    assert.equal((await docker(d, ['stop', '-t', '1', 'c1'])).code, 0);
    assert.equal((await docker(d, ['cp', path.join(host, 'h.txt'), 'c1:/h2.txt'])).code, 0);
    const o = path.join(host, 'o2');
    assert.equal((await docker(d, ['cp', 'c1:/h2.txt', o])).code, 0);
    assert.equal(await readFile(o, 'utf8'), 'from host\n');
    const ro = await docker(d, ['create', '--read-only', '-v', `${host}:/ro:ro`, 'busybox', 'true']);
    const id = ro.stdout.trim();
    const bad = await docker(d, ['cp', path.join(host, 'h.txt'), `${id}:/ro/`]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /read-only/);
    const bad2 = await docker(d, ['cp', path.join(host, 'h.txt'), `${id}:/`]);
    assert.notEqual(bad2.code, 0);
    assert.match(bad2.stderr, /read-only/);
    const missing = await docker(d, ['cp', 'c1:/nope', path.join(host, 'n')]);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /Could not find the file \/nope/);
    assert.ok(!existsSync('/h2.txt'), 'nothing written on the host root');
  });

  it('docker history lists the image history', async () => {
    const h = await docker(d, ['history', '--format', '{{.CreatedBy}}', 'busybox']);
    assert.equal(h.code, 0, h.stderr);
    assert.ok(h.stdout.trim().length > 0);
  });
});

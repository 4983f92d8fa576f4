/**
 * GET /containers/json and GET /images/json filters (src/api/filters.ts, shared with LocalEngine) through the REAL
 * docker CLI: label, name, id, status, ancestor, before/since, limit; images by label,
 * reference, dangling, before/since; an unknown filter is a 400. A label filter is what
 * docker-compose's ps/logs/down rely on to see only their project's containers.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { baseImageSkipReason } from '../helpers/base-image.js';
import { apiRequest, docker, loadBusybox, dockerMissing, notRoot, runcMissing, startTestDaemon, type TestDaemon } from './helpers.js';

const skip = dockerMissing || notRoot || runcMissing || baseImageSkipReason();

describe('list filters through the docker CLI', { skip, concurrency: false }, () => {
  let d: TestDaemon;
  const ids: Record<string, string> = {};
  before(async () => {
    d = await startTestDaemon();
    await loadBusybox(d);
    const ctx = path.join(d.dir, 'ctx');
    await mkdir(ctx, { recursive: true });
    await writeFile(path.join(ctx, 'Dockerfile'), 'FROM busybox\nLABEL tier=web\nRUN echo x > /x\n');
    const b = await docker(d, ['build', '-t', 'web:1', '.'], { cwd: ctx });
    assert.equal(b.code, 0, b.stderr + b.stdout);
    for (const [name, args] of [
      ['p1-a', ['-d', '--label', 'com.docker.compose.project=p1', 'busybox', 'sleep', '30']],
      ['p2-a', ['-d', '--label', 'com.docker.compose.project=p2', 'web:1', 'sleep', '30']],
      ['p1-done', ['--label', 'com.docker.compose.project=p1', 'busybox', 'sh', '-c', 'exit 3']],
    ] as const) {
      const r = await docker(d, ['run', '--name', name, ...args]);
      ids[name] = (await docker(d, ['inspect', '--format', '{{.Id}}', name])).stdout.trim();
      assert.ok(ids[name], r.stderr);
    }
  });
  after(async () => {
    await docker(d, ['rm', '-f', ...Object.values(ids)]);
    await d?.stop();
  });

  const names = async (args: string[]): Promise<string[]> => {
    const r = await docker(d, ['ps', '--format', '{{.Names}}', ...args]);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout.split('\n').filter(Boolean).sort();
  };

  it('label, name, id, status, exited, ancestor, before/since and limit select containers', async () => {
    assert.deepEqual(await names(['--filter', 'label=com.docker.compose.project=p1']), ['p1-a']);
    assert.deepEqual(await names(['-a', '--filter', 'label=com.docker.compose.project=p1']), ['p1-a', 'p1-done']);
    assert.deepEqual(await names(['-a', '--filter', 'label=com.docker.compose.project']), ['p1-a', 'p1-done', 'p2-a']);
    assert.deepEqual(await names(['-a', '--filter', 'label=com.docker.compose.project=p3']), []);
    assert.deepEqual(await names(['-a', '--filter', 'name=p2']), ['p2-a']);
    assert.deepEqual(await names(['-a', '--filter', `id=${ids['p1-done'].slice(0, 10)}`]), ['p1-done']);
    assert.deepEqual(await names(['--filter', 'status=exited']), ['p1-done']);
    assert.deepEqual(await names(['-a', '--filter', 'exited=3']), ['p1-done']);
    assert.deepEqual(await names(['-a', '--filter', 'ancestor=web:1']), ['p2-a']);
    assert.deepEqual(await names(['-a', '--filter', 'before=p2-a']), ['p1-a']);
    assert.deepEqual(await names(['-a', '--filter', 'since=p1-a']), ['p1-done', 'p2-a']);
    assert.deepEqual(await names(['-n', '1']), ['p1-done']);
  });

  it('an unknown filter or status is a 400', async () => {
    const r = await apiRequest(d, 'GET', `/containers/json?filters=${encodeURIComponent('{"colour":["red"]}')}`);
    assert.equal(r.status, 400);
    assert.match(r.body, /invalid filter 'colour'/);
    const s = await apiRequest(d, 'GET', `/containers/json?filters=${encodeURIComponent('{"status":["sleepy"]}')}`);
    assert.equal(s.status, 400);
  });

  it('images: label, reference (glob), dangling, before/since', async () => {
    const imgs = async (args: string[]): Promise<string[]> => {
      const r = await docker(d, ['images', '--format', '{{.Repository}}:{{.Tag}}', ...args]);
      assert.equal(r.code, 0, r.stderr);
      return r.stdout.split('\n').filter(Boolean).sort();
    };
    assert.deepEqual(await imgs(['--filter', 'label=tier=web']), ['web:1']);
    assert.deepEqual(await imgs(['--filter', 'reference=web']), ['web:1']);
    assert.deepEqual(await imgs(['--filter', 'reference=busy*']), ['busybox:latest']);
    assert.deepEqual(await imgs(['--filter', 'reference=*:1']), ['web:1']);
    assert.deepEqual(await imgs(['--filter', 'dangling=true']), []);
    assert.deepEqual(await imgs(['--filter', 'since=busybox']), ['web:1']);
    assert.deepEqual(await imgs(['--filter', 'before=web:1']), ['busybox:latest', 'latest:latest']);
  });
});

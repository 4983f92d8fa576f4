/**
 * Layer contents the installed peers cannot build (heredocs, ADD --checksum need a newer
 * Dockerfile frontend than docker 20.10's), checked against BuildKit's documented results:
 * `COPY <<EOF` writes 0644 root files (BuildKit since dockerfile/1.6); ADD of an http URL (a server
 * on 127.0.0.1) writes the file 0600, verifies --checksum, and fails with a checksum mismatch
 * when it is wrong. The image is unpacked with umoci and its rootfs read back.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { runCli } from '../helpers/cli.js';
import { baseImageSkipReason, ensureBaseImage } from '../helpers/base-image.js';

const run = promisify(execFile);
const onPath = (t: string) => (process.env.PATH ?? '').split(path.delimiter).some((d) => d && existsSync(path.join(d, t)));
const skip = process.getuid?.() !== 0 ? 'needs root (runc, overlay mounts)' : !onPath('umoci') ? 'umoci is not on PATH (scripts/install-system-deps.sh)' : baseImageSkipReason();

const BODY = 'downloaded over http\n';
const BODY_DIGEST = `sha256:${createHash('sha256').update(BODY).digest('hex')}`;

describe('layer contents without a peer', { skip, concurrency: 1 }, () => {
  let work = '';
  let root = '';
  let server: http.Server;
  let base = '';

  before(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'mybuild-contents-'));
    root = path.join(work, 'root');
    const load = await runCli(['--root', root, 'load', '-i', await ensureBaseImage()]);
    assert.equal(load.code, 0, load.err);
    base = /Loaded image: (\S+)/.exec(load.out)![1]!;
    server = http.createServer((req, res) => {
      if (req.url === '/files/data.txt') res.end(BODY);
      else res.writeHead(404).end('no');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  });
  after(async () => {
    server?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  /** Builds `dockerfile` (context: `files`) and returns the unpacked rootfs dir, or the failed result. */
  async function build(name: string, dockerfile: string, files: Record<string, string> = {}) {
    const ctx = path.join(work, name);
    await mkdir(ctx, { recursive: true });
    await writeFile(path.join(ctx, 'Dockerfile'), dockerfile.replaceAll('BASE', base));
    for (const [f, data] of Object.entries(files)) await writeFile(path.join(ctx, f), data);
    const out = path.join(work, `${name}-oci`);
    const r = await runCli(['--root', root, 'build', '--progress', 'plain', '-o', `type=oci,dest=${out},tar=false`, ctx]);
    if (r.code !== 0) return { ok: false as const, r };
    const bundle = path.join(work, `${name}-bundle`);
    await run('umoci', ['unpack', '--image', `${out}:latest`, bundle]);
    return { ok: true as const, rootfs: path.join(bundle, 'rootfs') };
  }

  async function meta(p: string) {
    const st = await lstat(p);
    return { mode: (st.mode & 0o7777).toString(8), uid: st.uid, gid: st.gid };
  }

  it('COPY <<EOF writes a 0644 root file (BuildKit), expanding variables', async () => {
    const got = await build('heredoc', 'FROM BASE\nENV NAME=world\nCOPY <<EOT /etc/app.conf\nhello=$NAME\nEOT\nCOPY --chmod=0600 <<A <<B /multi/\na\nA\nb\nB\n');
    assert.ok(got.ok, got.ok ? '' : got.r.err);
    assert.deepEqual(await meta(path.join(got.rootfs, 'etc/app.conf')), { mode: '644', uid: 0, gid: 0 });
    assert.equal(await readFile(path.join(got.rootfs, 'etc/app.conf'), 'utf8'), 'hello=world\n');
    assert.deepEqual(await meta(path.join(got.rootfs, 'multi/A')), { mode: '600', uid: 0, gid: 0 });
    assert.equal(await readFile(path.join(got.rootfs, 'multi/B'), 'utf8'), 'b\n');
  });

  it('ADD <url> downloads 0600 root files, checks --checksum, --chown applies', async () => {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/files/data.txt`;
    const got = await build('add-url', `FROM BASE\nADD --checksum=${BODY_DIGEST} ${url} /dl/\nADD --chown=nobody:nogroup ${url} /owned.txt\n`);
    assert.ok(got.ok, got.ok ? '' : got.r.err);
    assert.deepEqual(await meta(path.join(got.rootfs, 'dl/data.txt')), { mode: '600', uid: 0, gid: 0 });
    assert.equal(await readFile(path.join(got.rootfs, 'dl/data.txt'), 'utf8'), BODY);
    assert.deepEqual(await meta(path.join(got.rootfs, 'owned.txt')), { mode: '600', uid: 65534, gid: 65534 });
  });

  it('ADD <url> with a wrong --checksum fails and names both digests', async () => {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/files/data.txt`;
    const wrong = `sha256:${'0'.repeat(64)}`;
    const got = await build('add-url-bad', `FROM BASE\nADD --checksum=${wrong} ${url} /dl/\n`);
    assert.equal(got.ok, false, 'the build should fail');
    if (got.ok) return;
    assert.notEqual(got.r.code, 0);
    assert.match(got.r.err, /checksum mismatch/);
    assert.ok(got.r.err.includes(wrong) && got.r.err.includes(BODY_DIGEST), got.r.err);
    assert.match(got.r.err, /Dockerfile:2/);
  });

  it('ADD <url> of a missing file fails with the status', async () => {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/nope`;
    const got = await build('add-url-404', `FROM BASE\nADD ${url} /dl/\n`);
    assert.equal(got.ok, false);
    if (!got.ok) assert.match(got.r.err, /404/);
  });
});

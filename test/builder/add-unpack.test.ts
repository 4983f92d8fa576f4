/**
 * ADD --unpack=true <url> (issue 17): BuildKit passes AttemptUnpack for an http source when
 * --unpack=true, so a downloaded tar archive (here gzip) is extracted into the destination; without
 * the flag (or with --unpack=false) it stays a file, and a download that is not an archive stays
 * a file either way. An HTTP server on 127.0.0.1; the rootfs is read back from a `type=local` output.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { buildFiles, buildSkipReason, cleanupTemp, makeStoreRoot, tempDir, writeContext } from '../helpers/build.js';

const skip = buildSkipReason();

describe('builder: ADD --unpack of a URL', { skip }, () => {
  let root: string;
  let server: http.Server;
  let archive: Buffer;
  before(async () => {
    root = await makeStoreRoot();
    const src = await writeContext({ 'in-archive.txt': 'archived\n', 'dir/nested.txt': 'nested\n' });
    const file = path.join(await tempDir(), 'a.tar.gz');
    execFileSync('tar', ['-czf', file, '-C', src, 'in-archive.txt', 'dir']);
    archive = readFileSync(file);
    server = http.createServer((req, res) => res.end(req.url === '/a.tar.gz' ? archive : 'plain text\n'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  });
  after(async () => {
    await new Promise((r) => server?.close(r));
    await cleanupTemp();
  });

  const url = (p: string) => `http://127.0.0.1:${(server.address() as AddressInfo).port}/${p}`;

  it('--unpack=true extracts a downloaded archive into the destination; without it the archive is a file', async () => {
    const out = await tempDir('mybuild-unpack-');
    await buildFiles(root, {
      Dockerfile: `FROM scratch\nADD --unpack=true ${url('a.tar.gz')} /u/\nADD ${url('a.tar.gz')} /kept/\nADD --unpack=false ${url('a.tar.gz')} /off/\nADD --unpack=true ${url('notes.txt')} /t/\n`,
    }, { outputs: [{ type: 'local', dest: out }] });
    assert.equal(readFileSync(path.join(out, 'u/in-archive.txt'), 'utf8'), 'archived\n');
    assert.equal(readFileSync(path.join(out, 'u/dir/nested.txt'), 'utf8'), 'nested\n');
    assert.ok(!existsSync(path.join(out, 'u/a.tar.gz')));
    assert.ok(lstatSync(path.join(out, 'kept/a.tar.gz')).isFile());
    assert.deepEqual(readFileSync(path.join(out, 'kept/a.tar.gz')), archive);
    assert.ok(lstatSync(path.join(out, 'off/a.tar.gz')).isFile());
    assert.equal(readFileSync(path.join(out, 't/notes.txt'), 'utf8'), 'plain text\n');
  });
});

/**
 * Daemon directories (issue 14): the store root the daemon opens is 0711 with 0700 directories
 * (its context directories under `daemon/` included, also when an earlier version left them
 * 0755), and the socket's directory is 0711 when the daemon makes it or owns it; a socket
 * directory another user owns is refused. The socket keeps its 0660.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, lstatSync, mkdirSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ContextDirs } from '../../src/daemon/context-dirs.js';
import { prepareSocketDir } from '../../src/daemon/listen.js';
import { startDaemon } from '../../src/daemon/server.js';

const mode = (p: string) => lstatSync(p).mode & 0o7777;

describe('daemon directories', { concurrency: false }, () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'mybuild-daemon-perm-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('the root, its context directories and the socket directories the daemon makes are closed to others', async () => {
    const root = path.join(dir, 'root');
    const socket = path.join(dir, 'run', 'sub', 'd.sock');
    const d = await startDaemon({ root, hosts: [`unix://${socket}`], log: () => undefined });
    try {
      assert.equal(mode(root), 0o711);
      for (const n of ['oci', 'ingest', 'cache']) assert.equal(mode(path.join(root, n)), 0o700, n);
      assert.equal(mode(path.join(dir, 'run')), 0o711);
      assert.equal(mode(path.join(dir, 'run', 'sub')), 0o711);
      assert.equal(statSync(socket).mode & 0o777, 0o660);
      // The daemon's warm context directories (what POST /build extracts into).
      const lent = await new ContextDirs(path.join(root, 'daemon', 'contexts')).acquire('k');
      assert.equal(mode(path.join(root, 'daemon')), 0o700);
      assert.equal(mode(path.join(root, 'daemon', 'contexts')), 0o700);
      assert.equal(mode(lent.dir), 0o700);
      await lent.release();
    } finally {
      await d.close();
    }
    // An earlier version's 0755 directories are tightened when the daemon opens the store.
    for (const p of [root, path.join(root, 'daemon'), path.join(root, 'oci')]) chmodSync(p, 0o755);
    const d2 = await startDaemon({ root, hosts: [`unix://${socket}`], log: () => undefined });
    await d2.close();
    assert.equal(mode(root), 0o711);
    assert.equal(mode(path.join(root, 'daemon')), 0o700);
    assert.equal(mode(path.join(root, 'oci')), 0o700);
  });

  it('the socket directory mybuild owns is set 0711, and refused when another user owns it', async () => {
    const own = path.join(dir, 'own');
    mkdirSync(own, { mode: 0o777 });
    chmodSync(own, 0o777);
    await prepareSocketDir(path.join(own, 'mybuild.sock'), own);
    assert.equal(mode(own), 0o711);
    // A directory that is not mybuild's own (/tmp, $XDG_RUNTIME_DIR) keeps its mode.
    const shared = path.join(dir, 'shared');
    mkdirSync(shared);
    chmodSync(shared, 0o1777);
    await prepareSocketDir(path.join(shared, 'mybuild.sock'), own);
    assert.equal(mode(shared), 0o1777);
    if (process.getuid?.() === 0) {
      chownSync(own, 65534, 65534);
      await assert.rejects(prepareSocketDir(path.join(own, 'mybuild.sock'), own), /refusing to put the daemon socket in .*belongs to uid 65534/);
    }
  });
});

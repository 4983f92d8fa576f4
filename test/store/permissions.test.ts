/**
 * Store permissions (issue 14, "local root through the store"): layers are extracted with
 * their own modes, setuid bits included, so another user who can reach a snapshot, a
 * container's rootfs or a blob runs a setuid-root binary from it. The store root is 0711 and
 * every directory under it 0700 (as containerd keeps its root); a store an earlier version
 * made with 0755 directories is tightened when it is opened; a rootless store likewise.
 *
 * The attack is played for real: an image whose layer holds a setuid-root copy of the host's
 * `cat`, and uid 65534 (setpriv) trying to run it on a root-only file, to list the store and to
 * read its blobs.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, lstatSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ImageStore } from '../../src/store/image-store.js';
import { buildSkipReason, cleanupTemp, cliSkipReason, loadBase, runCliProcess, tempDir, writeContext } from '../helpers/build.js';
import { cliPath } from '../helpers/paths.js';

const setpriv = spawnSync('setpriv', ['--version']).status === 0 ? false : 'setpriv (util-linux) is not installed';
const skip = buildSkipReason() || cliSkipReason() || setpriv;

const NOBODY = ['--reuid=65534', '--regid=65534', '--clear-groups'];

/**
 * Runs `cmd args` as uid/gid 65534. Through `sh -c 'exec "$@"'`: setpriv itself opens the
 * program before it drops root (it ran a setuid file under a 0700 directory), a shell running as
 * 65534 looks the path up as that user.
 */
function asNobody(cmd: string, args: string[], env: NodeJS.ProcessEnv = { PATH: process.env.PATH }) {
  return spawnSync('setpriv', [...NOBODY, '/bin/sh', '-c', 'exec "$@"', 'sh', cmd, ...args], { encoding: 'utf8', env });
}

/** Files under `dir` with the setuid bit, found as root (not following symlinks). */
function setuidFiles(dir: string): string[] {
  const r = spawnSync('find', [dir, '-xdev', '-type', 'f', '-perm', '-4000', '-name', 'cat'], { encoding: 'utf8' });
  return r.stdout.split('\n').filter(Boolean);
}

/** The directories from `root` down to the parent of `file`'s image root: the store's own directories. */
function storeDirsAbove(root: string, file: string): string[] {
  const out: string[] = [];
  // The layer's own directories (…/fs/suid) keep their image modes; stop at the snapshot's fs root.
  let d = path.dirname(path.dirname(file));
  while (d.length >= root.length) {
    out.push(d);
    d = path.dirname(d);
  }
  return out;
}

describe('store permissions: other users cannot reach image content', { skip }, () => {
  let base: string;
  let root: string;
  let secret: string;
  before(async () => {
    // A parent every user may pass through: only the store's own modes protect what is inside.
    base = await tempDir('mybuild-perm-');
    chmodSync(base, 0o755);
    root = path.join(base, 'store');
    secret = path.join(base, 'root-only.txt');
    writeFileSync(secret, 'TOPSECRET\n', { mode: 0o600 });
    await loadBase(root);
    const ctx = await writeContext({
      Dockerfile: 'FROM busybox\nCOPY cat /suid/cat\nRUN chmod 4755 /suid/cat && touch /done\n',
      cat: { content: readFileSync('/bin/cat'), mode: 0o755 },
    });
    const b = await runCliProcess(['--root', root, 'build', '-q', '-t', 'suid:1', ctx]);
    assert.equal(b.code, 0, b.stderr);
    // A stopped container keeps its rootfs snapshot under the store.
    const r = await runCliProcess(['--root', root, 'run', '--name', 'keep', 'suid:1', 'true']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(asNobody('stat', [base]).status, 0, 'uid 65534 must reach the store root\'s parent');
  });
  after(async () => {
    await runCliProcess(['--root', root, 'rm', '-f', 'keep']);
    await cleanupTemp();
  });

  it('the root is 0711 and every directory under it 0700', () => {
    assert.equal(statSync(root).mode & 0o7777, 0o711);
    const dirs = readdirSync(root, { withFileTypes: true }).filter((e) => e.isDirectory());
    for (const want of ['oci', 'ingest', 'cache', 'tmp', 'snapshots', 'runtime', 'containers', 'builds']) {
      assert.ok(dirs.some((e) => e.name === want), `${want} exists after a build and a run`);
    }
    for (const e of dirs) assert.equal(lstatSync(path.join(root, e.name)).mode & 0o7777, 0o700, `${e.name} is 0700`);
  });

  it('uid 65534 cannot run a setuid file from the store, list the store or read its blobs', () => {
    const suid = setuidFiles(root);
    assert.ok(suid.length > 0, 'the image\'s setuid cat is extracted under the store');
    assert.ok(suid.some((f) => f.includes('/snapshots/')), suid.join('\n'));
    for (const f of suid) {
      const r = asNobody(f, [secret]);
      assert.notEqual(r.status, 0, `${f} ran as uid 65534`);
      assert.doesNotMatch(r.stdout, /TOPSECRET/);
      assert.match(r.stderr, /Permission denied/);
    }
    const ls = asNobody('ls', [root]);
    assert.notEqual(ls.status, 0);
    assert.match(ls.stderr, /Permission denied/);
    const blobs = path.join(root, 'oci', 'blobs', 'sha256');
    const blob = path.join(blobs, readdirSync(blobs)[0]);
    for (const p of [path.join(root, 'oci', 'index.json'), blob]) {
      const r = asNobody('cat', [p]);
      assert.notEqual(r.status, 0, `uid 65534 read ${p}`);
      assert.match(r.stderr, /Permission denied/);
    }
  });

  it('a store an earlier version made with 0755 directories is tightened when opened', async () => {
    const suid = setuidFiles(root);
    const blobs = path.join(root, 'oci', 'blobs', 'sha256');
    // What earlier versions left: every store directory 0755.
    const loose = new Set<string>([root, ...readdirSync(root).map((n) => path.join(root, n)), path.join(root, 'oci', 'blobs'), blobs, ...suid.flatMap((f) => storeDirsAbove(root, f))]);
    for (const d of loose) if (lstatSync(d).isDirectory()) chmodSync(d, 0o755);
    // The attack works on such a store: the setuid cat reads a root-only file.
    const before = asNobody(suid[0], [secret]);
    assert.equal(before.status, 0, before.stderr);
    assert.match(before.stdout, /TOPSECRET/);

    await ImageStore.open(root);
    assert.equal(statSync(root).mode & 0o7777, 0o711);
    for (const e of readdirSync(root, { withFileTypes: true })) if (e.isDirectory()) assert.equal(lstatSync(path.join(root, e.name)).mode & 0o7777, 0o700, e.name);
    const afterOpen = asNobody(suid[0], [secret]);
    assert.notEqual(afterOpen.status, 0);
    assert.doesNotMatch(afterOpen.stdout, /TOPSECRET/);
    assert.notEqual(asNobody('cat', [path.join(blobs, readdirSync(blobs)[0])]).status, 0);
  });

  it('a rootless store (under the user\'s XDG data dir) gets the same modes', async () => {
    // The checkout may sit where uid 65534 cannot enter: run a copy of the bundled CLI.
    const bin = await tempDir('mybuild-perm-bin-');
    chmodSync(bin, 0o755);
    for (const f of readdirSync(path.dirname(cliPath))) copyFileSync(path.join(path.dirname(cliPath), f), path.join(bin, f));
    for (const f of readdirSync(bin)) chmodSync(path.join(bin, f), 0o755);
    const home = await tempDir('mybuild-perm-home-');
    spawnSync('chown', ['65534:65534', home]);
    const ctx = await writeContext({ Dockerfile: 'FROM scratch\nLABEL a=b\n' });
    chmodSync(ctx, 0o755);
    for (const f of readdirSync(ctx)) chmodSync(path.join(ctx, f), 0o644);
    const r = asNobody(process.execPath, [path.join(bin, path.basename(cliPath)), 'build', '-q', ctx], { PATH: process.env.PATH, HOME: home });
    assert.equal(r.status, 0, r.stderr);
    const userRoot = path.join(home, '.local', 'share', 'mybuild');
    const st = statSync(userRoot);
    assert.equal(st.uid, 65534);
    assert.equal(st.mode & 0o7777, 0o711);
    const dirs = readdirSync(userRoot, { withFileTypes: true }).filter((e) => e.isDirectory());
    assert.ok(dirs.some((e) => e.name === 'oci'));
    for (const e of dirs) assert.equal(lstatSync(path.join(userRoot, e.name)).mode & 0o7777, 0o700, e.name);
  });
});

/** Without root: config-only builds work; a step that needs the filesystem says why it cannot run. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { buildSkipReason, cleanupTemp, cliSkipReason, makeStoreRoot, tempDir } from '../helpers/build.js';
import { cliPath } from '../helpers/paths.js';

const setpriv = spawnSync('setpriv', ['--version']).status === 0 ? false : 'setpriv (util-linux) is not installed';
const skip = buildSkipReason() || cliSkipReason() || setpriv;

describe('builder: as a user other than root', { skip }, () => {
  let root: string;
  let ctx: string;
  let cli: string;
  before(async () => {
    root = await makeStoreRoot();
    ctx = await tempDir('mybuild-rootless-');
    // The checkout may sit where uid 65534 cannot enter (/root/…, a mktemp -d folder): run a copy
    // of the bundled CLI (dist/bin is self-contained) from a folder that user can read.
    const bin = await tempDir('mybuild-rootless-bin-');
    chmodSync(bin, 0o755);
    for (const f of readdirSync(path.dirname(cliPath))) copyFileSync(path.join(path.dirname(cliPath), f), path.join(bin, f));
    for (const f of readdirSync(bin)) chmodSync(path.join(bin, f), 0o755);
    cli = path.join(bin, path.basename(cliPath));
    writeFileSync(path.join(ctx, 'Dockerfile'), 'FROM busybox\nRUN echo hi\n');
    writeFileSync(path.join(ctx, 'Meta.Dockerfile'), 'FROM busybox\nENV A=1\nLABEL l=v\n');
    for (const d of [root, ctx, path.dirname(root)]) chmodSync(d, 0o777);
    spawnSync('chmod', ['-R', 'a+rwX', root]);
  });
  after(cleanupTemp);

  const asNobody = (...args: string[]) =>
    spawnSync('setpriv', ['--reuid', '65534', '--regid', '65534', '--clear-groups', process.execPath, cli, '--root', root, ...args], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH, HOME: ctx },
    });

  it('builds a Dockerfile that only changes the config', () => {
    const r = asNobody('build', '-q', '-f', path.join(ctx, 'Meta.Dockerfile'), ctx);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^sha256:[0-9a-f]{64}$/m);
  });

  it('refuses a RUN with one clear error and a hint, not EPERM from deep inside', () => {
    const r = asNobody('build', '--progress', 'plain', ctx);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /needs the image's filesystem, which mybuild can only mount and run as root/);
    assert.match(r.stderr, /hint: run mybuild as root, or talk to a mybuild daemon/);
    assert.doesNotMatch(r.stderr, /EPERM|bug in mybuild/);
  });
});

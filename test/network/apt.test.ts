/**
 * Issue 19's "done when": `mybuild build` of a Debian-based Dockerfile with `RUN apt-get update
 * && apt-get install -y hello` works with no --network flag (the default network, slirp4netns),
 * and the host's links, addresses, routes and iptables rules are the same before and after;
 * the same step with --network=none fails with the hint. As root; skips with the reason when
 * the Debian base cannot be made here (scripts/make-debian-base.sh) or the mirror is unreachable.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildSkipReason, cleanupTemp, cliSkipReason, makeStoreRoot, runCliProcess, tempDir } from '../helpers/build.js';
import { debianBaseSkipReason, ensureDebianBase } from '../helpers/debian-base.js';
import { hostNetworkState, hostReaches } from '../helpers/host-network.js';

const skip =
  process.getuid?.() !== 0 ? 'needs root (runc)' : buildSkipReason() || cliSkipReason() || (!(await hostReaches()) ? 'the host cannot reach deb.debian.org' : await debianBaseSkipReason());

describe('RUN apt-get on the default network', { skip, timeout: 900_000 }, () => {
  let root: string;
  let ctx: string;
  before(async () => {
    root = await makeStoreRoot();
    ctx = await tempDir('mybuild-apt-');
    const tar = await ensureDebianBase();
    const imp = await runCliProcess(['--root', root, 'import', tar, 'debian:bookworm']);
    assert.equal(imp.code, 0, imp.stderr);
    writeFileSync(path.join(ctx, 'Dockerfile'), 'FROM debian:bookworm\nRUN apt-get update && apt-get install -y --no-install-recommends hello && hello\n');
    writeFileSync(path.join(ctx, 'None.Dockerfile'), 'FROM debian:bookworm\nRUN --network=none apt-get update -o Acquire::Retries=0 && apt-get install -y hello\n');
  });
  after(cleanupTemp);

  it('apt-get update && apt-get install -y hello, no --network flag; the host network is unchanged', async () => {
    const before = await hostNetworkState();
    const r = await runCliProcess(['--root', root, 'build', '--progress', 'plain', '-t', 'hello', ctx]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /Hello, world!/);
    assert.equal(await hostNetworkState(), before);
  });

  it('--network=none cannot reach the mirror and says so', async () => {
    const r = await runCliProcess(['--root', root, 'build', '--progress', 'plain', '-f', path.join(ctx, 'None.Dockerfile'), ctx]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /hint: the step ran with --network=none/);
  });
});

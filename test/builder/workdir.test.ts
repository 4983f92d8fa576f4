/** WORKDIR: the directory it creates, its owner, in any base (real runc builds). */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { buildFiles, buildSkipReason, cleanupTemp, makeStoreRoot, tempDir } from '../helpers/build.js';

const skip = buildSkipReason();

describe('builder: WORKDIR', { skip }, () => {
  let root: string;
  before(async () => {
    root = await makeStoreRoot();
  });
  after(cleanupTemp);

  it('in a FROM scratch stage (no /etc/passwd) creates the directory as 0:0, as BuildKit (no USER: no chown)', async () => {
    const out = await tempDir('mybuild-out-');
    const r = await buildFiles(root, {
      Dockerfile: [
        'FROM scratch AS s',
        'WORKDIR /x/y',
        'FROM busybox',
        'COPY --from=s / /s/',
        'RUN stat -c "%n %u:%g %a" /s/x /s/x/y > /o',
      ].join('\n'),
    }, { outputs: [{ type: 'local', dest: out }] });
    assert.equal(readFileSync(path.join(out, 'o'), 'utf8'), '/s/x 0:0 755\n/s/x/y 0:0 755\n');
    assert.ok(r.result.manifestDescriptor.digest);
  });

  it('in a FROM scratch stage the image has the one layer and WorkingDir', async () => {
    const r = await buildFiles(root, { Dockerfile: ['FROM scratch', 'WORKDIR /app'].join('\n') });
    assert.equal(r.config.config?.WorkingDir, '/app');
    assert.equal(r.manifest.layers.length, 1);
    assert.deepEqual(r.config.history?.map((h) => [h.created_by, h.empty_layer ?? false]), [['WORKDIR /app', false]]);
  });

  it('USER of a name the stage does not know: WORKDIR still creates the directory, 0:0 (BuildKit\'s file op, no error)', async () => {
    const out = await tempDir('mybuild-out-');
    await buildFiles(root, {
      Dockerfile: ['FROM scratch AS s', 'USER someone', 'WORKDIR /app', 'FROM busybox', 'COPY --from=s / /s/', 'RUN stat -c "%n %u:%g" /s/app > /o'].join('\n'),
    }, { outputs: [{ type: 'local', dest: out }] });
    assert.equal(readFileSync(path.join(out, 'o'), 'utf8'), '/s/app 0:0\n');
  });

  it('the owner of a USER follows BuildKit\'s file-op rules: a uid is uid and gid, a name its passwd ids, a group its gid', async () => {
    const out = await tempDir('mybuild-out-');
    await buildFiles(root, {
      Dockerfile: [
        'FROM busybox',
        'USER 1234', 'WORKDIR /w1',
        'USER nobody', 'WORKDIR /w2/sub',
        'USER 1234:nogroup', 'WORKDIR /w3',
        'USER nobody:ghosts', 'WORKDIR /w4',
        'USER root:5', 'WORKDIR /w5',
        'USER root',
        'RUN stat -c "%n %u:%g" /w1 /w2 /w2/sub /w3 /w4 /w5 > /o',
      ].join('\n'),
    }, { outputs: [{ type: 'local', dest: out }] });
    assert.equal(readFileSync(path.join(out, 'o'), 'utf8'), '/w1 1234:1234\n/w2 65534:65534\n/w2/sub 65534:65534\n/w3 1234:65534\n/w4 65534:65534\n/w5 0:5\n');
  });
});

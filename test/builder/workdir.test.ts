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

  it('USER of a name the scratch stage does not know still fails with the line of the WORKDIR', async () => {
    await assert.rejects(buildFiles(root, { Dockerfile: ['FROM scratch', 'USER someone', 'WORKDIR /app'].join('\n') }), (err: Error & { source?: { range: { start: { line: number } } } }) => {
      assert.match(err.message, /unable to find user someone/);
      assert.equal(err.source?.range.start.line, 3);
      return true;
    });
  });
});

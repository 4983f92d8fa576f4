/**
 * COPY and ADD at the edges where mybuild differed from current BuildKit (issue 16): heredoc
 * file modes, the errors for URLs and unsupported checksums, ONBUILD COPY --from, empty
 * wildcards, symbolic --chmod, destinations that are symlinks, Unix sockets. Real builds (runc,
 * overlay snapshots); the rootfs is read back from a `type=local` output.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { lstatSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { buildFiles, buildSkipReason, cleanupTemp, makeStoreRoot, tempDir, type ContextFile } from '../helpers/build.js';

const skip = buildSkipReason();

const modeOf = (p: string) => (lstatSync(p).mode & 0o7777).toString(8);

describe('builder: COPY/ADD as BuildKit', { skip }, () => {
  let root: string;
  before(async () => {
    root = await makeStoreRoot();
  });
  after(cleanupTemp);

  async function rootfs(files: Record<string, ContextFile>): Promise<string> {
    const out = await tempDir('mybuild-copybk-');
    await buildFiles(root, files, { outputs: [{ type: 'local', dest: out }] });
    return out;
  }

  it('COPY <<EOF and ADD <<EOF write 0644 files (BuildKit since dockerfile/1.6); --chmod still applies', async () => {
    const out = await rootfs({
      Dockerfile: 'FROM scratch\nCOPY <<EOT /etc/app.conf\nhello\nEOT\nADD <<A <<B /multi/\na\nA\nb\nB\nCOPY --chmod=0600 <<C /c\nc\nC\n',
    });
    assert.equal(modeOf(path.join(out, 'etc/app.conf')), '644');
    assert.equal(modeOf(path.join(out, 'multi/A')), '644');
    assert.equal(modeOf(path.join(out, 'multi/B')), '644');
    assert.equal(readFileSync(path.join(out, 'multi/B'), 'utf8'), 'b\n');
    assert.equal(modeOf(path.join(out, 'c')), '600');
  });
});

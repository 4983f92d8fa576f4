/** RUN: the user and groups the process gets, as BuildKit's executor sets them (real runc builds). */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { buildFiles, buildSkipReason, cleanupTemp, makeStoreRoot, tempDir } from '../helpers/build.js';

const skip = buildSkipReason();

/** Builds `lines` and returns the text of /o in the result. */
async function outOf(root: string, lines: string[]): Promise<string> {
  const out = await tempDir('mybuild-out-');
  await buildFiles(root, { Dockerfile: lines.join('\n') }, { outputs: [{ type: 'local', dest: out }] });
  return readFileSync(path.join(out, 'o'), 'utf8');
}

describe('builder: RUN user and groups', { skip }, () => {
  let root: string;
  before(async () => {
    root = await makeStoreRoot();
  });
  after(cleanupTemp);

  it('as root with no USER: the groups are the primary gid and the /etc/group memberships (CVE-2023-25173 fix)', async () => {
    const o = await outOf(root, [
      'FROM busybox',
      "RUN printf 'root:x:0:\\nwheel:x:10:root\\nnogroup:x:65534:\\n' > /etc/group",
      'RUN id > /o; id -G >> /o',
    ]);
    assert.equal(o, 'uid=0(root) gid=0(root) groups=0(root),10(wheel)\n0 10\n');
  });

  it('a root with no memberships still has gid 0 in its groups; USER nobody has its own gid', async () => {
    const o = await outOf(root, ['FROM busybox', 'RUN mkdir -m 1777 /t && id > /t/root', 'USER nobody', 'RUN id -G > /t/nobody', 'USER root', 'RUN cat /t/root /t/nobody > /o']);
    assert.equal(o, 'uid=0(root) gid=0(root) groups=0(root)\n65534\n');
  });

  it('USER uid:gid gets that gid as its only group', async () => {
    const o = await outOf(root, ['FROM busybox', 'RUN mkdir -m 1777 /t', 'USER 1234:4321', 'RUN id -G > /t/g', 'USER root', 'RUN cp /t/g /o']);
    assert.equal(o, '4321\n');
  });

  it('with no USER and no /etc/passwd the RUN runs as 0:0 (BuildKit falls back for the default user)', async () => {
    const o = await outOf(root, ['FROM busybox AS b', 'FROM scratch', 'COPY --from=b /bin /bin', 'RUN id -u > /o; id -g >> /o']);
    assert.equal(o, '0\n0\n');
  });
});

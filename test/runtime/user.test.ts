import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { BuildError } from '../../src/errors.js';
import { fileOwnerFrom, resolveUser, type ResolvedUser } from '../../src/runtime/user.js';
import { fixturesDir } from '../helpers/paths.js';

const rootfs = path.join(fixturesDir, 'runtime', 'user');

describe('resolveUser', () => {
  const rows: { name: string; input: string; want: Partial<ResolvedUser> }[] = [
    { name: 'empty is root', input: '', want: { uid: 0, gid: 0, additionalGids: [] } },
    { name: 'name', input: 'app', want: { uid: 1000, gid: 1000, additionalGids: [29, 44], home: '/home/app' } },
    { name: 'uid with passwd entry', input: '1000', want: { uid: 1000, gid: 1000, additionalGids: [29, 44] } },
    { name: 'uid without entry', input: '4242', want: { uid: 4242, gid: 0, additionalGids: [] } },
    { name: 'name:group', input: 'app:audio', want: { uid: 1000, gid: 29, additionalGids: [] } },
    { name: 'uid:gid', input: '65534:65534', want: { uid: 65534, gid: 65534, additionalGids: [] } },
    { name: 'uid:gid unknown numbers', input: '123:456', want: { uid: 123, gid: 456, additionalGids: [] } },
    { name: 'name:gid', input: 'nobody:7', want: { uid: 65534, gid: 7, additionalGids: [] } },
    { name: 'root', input: 'root', want: { uid: 0, gid: 0, additionalGids: [] } },
  ];
  for (const row of rows) {
    it(row.name, async () => {
      const got = await resolveUser(rootfs, row.input);
      for (const [k, v] of Object.entries(row.want)) assert.deepEqual(got[k as keyof ResolvedUser], v, k);
    });
  }

  it('unknown names fail like runc', async () => {
    await assert.rejects(resolveUser(rootfs, 'ghost'), (err: unknown) => err instanceof BuildError && err.message === 'unable to find user ghost: no matching entries in passwd file');
    await assert.rejects(resolveUser(rootfs, 'app:ghosts'), /unable to find group ghosts: no matching entries in group file/);
    await assert.rejects(resolveUser(rootfs, '99999999999'), /must be in range/);
  });

  it('reads /etc through symlinks inside the rootfs only', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'mybuild-user-'));
    try {
      // /etc -> /real/etc (absolute): must resolve to <dir>/real/etc, not the host's /etc.
      await mkdir(path.join(dir, 'real', 'etc'), { recursive: true });
      await writeFile(path.join(dir, 'real', 'etc', 'passwd'), 'builder:x:501:502::/b:/bin/sh\n');
      await symlink('/real/etc', path.join(dir, 'etc'));
      assert.equal((await resolveUser(dir, 'builder')).uid, 501);
      await assert.rejects(resolveUser(dir, 'root'), /unable to find user root/, 'the host /etc/passwd is not read');
      // No /etc at all: numeric ids still work.
      assert.deepEqual(await resolveUser(path.join(dir, 'real', 'nothing'), '10:20'), { uid: 10, gid: 20, additionalGids: [] });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('fileOwnerFrom (BuildKit file-op owners: WORKDIR)', () => {
  const passwd = 'root:x:0:0::/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\n';
  const group = 'root:x:0:\naudio:x:29:app\n';
  const rows: [string, { uid: number; gid: number }][] = [
    ['1234', { uid: 1234, gid: 1234 }],
    ['root', { uid: 0, gid: 0 }],
    ['app', { uid: 1000, gid: 1001 }],
    ['ghost', { uid: 0, gid: 0 }],
    ['app:audio', { uid: 1000, gid: 29 }],
    ['app:ghosts', { uid: 1000, gid: 1001 }],
    ['1234:root', { uid: 1234, gid: 0 }],
    ['root:7', { uid: 0, gid: 7 }],
  ];
  for (const [spec, want] of rows) it(spec, () => assert.deepEqual(fileOwnerFrom(spec, passwd, group), want));
  it('no passwd or group file: names are 0, never an error', () => {
    assert.deepEqual(fileOwnerFrom('app:audio', undefined, undefined), { uid: 0, gid: 0 });
  });
});

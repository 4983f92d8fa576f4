/** Rootless mode's pure parts: /etc/subuid parsing and the unshare command (src/runtime/userns.ts). */
import assert from 'node:assert/strict';
import os from 'node:os';
import { describe, it } from 'node:test';
import { parseSubIds, rootlessCommand } from '../../src/runtime/userns.js';

describe('userns', () => {
  it('parseSubIds: by name or uid, skips malformed lines', () => {
    const text = 'alice:100000:65536\n1001:200000:65536\nbob:x:1\n\nalice:300000:10\n';
    assert.deepEqual(parseSubIds(text, 'alice', 1000), [{ start: 100000, count: 65536 }, { start: 300000, count: 10 }]);
    assert.deepEqual(parseSubIds(text, 'carol', 1001), [{ start: 200000, count: 65536 }]);
    assert.deepEqual(parseSubIds(text, 'bob', 1002), []);
  });

  it('rootlessCommand: 0 → the user and 1…65536 → the range, or only 0 with a note', () => {
    const me = os.userInfo().username;
    const full = rootlessCommand(['node', 'x'], { subuid: `${me}:100000:65536\n`, subgid: `${me}:200000:65536\n`, haveNewuidmap: true });
    assert.deepEqual(full.argv, ['setpriv', '--pdeathsig', 'KILL', '--', 'unshare', '--user', '--mount', '--propagation', 'private', '--map-user=0', '--map-group=0', '--map-users=100000,1,65536', '--map-groups=200000,1,65536', '--', 'node', 'x']);
    const small = rootlessCommand(['node', 'x'], { subuid: `${me}:100000:1000\n`, subgid: `${me}:200000:65536\n`, haveNewuidmap: true });
    assert.deepEqual(small.argv.slice(-4), ['--map-root-user', '--', 'node', 'x']);
    assert.match(small.note!, /no subordinate id range for \S+ in \/etc\/subuid/);
    const noTool = rootlessCommand(['node'], { subuid: `${me}:100000:65536\n`, subgid: `${me}:200000:65536\n`, haveNewuidmap: false });
    assert.match(noTool.note!, /apt-get install uidmap/);
  });
});

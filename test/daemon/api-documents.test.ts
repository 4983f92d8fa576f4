/**
 * The container documents of src/api: the daemon's `GET /containers/json` entry carries the
 * same STATUS text as the daemonless `ps`, and the client's row read back from it equals the
 * daemonless row (so `docker ps`, `mybuild -H ps` and `mybuild ps` agree).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { containerListEntry, containerSummary, statusText, summaryOfListEntry } from '../../src/api/containers.js';
import type { Container } from '../../src/containers/manager.js';

const now = Date.parse('2026-01-02T03:04:05.000Z');
const container = (state: Container['state']): Container =>
  ({
    id: 'a'.repeat(64),
    name: 'c1',
    config: { created: '2026-01-02T03:00:00.000Z', image: 'busybox', imageId: `sha256:${'b'.repeat(64)}`, command: ['sh', '-c', 'echo hi'], network: 'none', volumes: [] },
    state,
  }) as unknown as Container;

describe('api/containers: one STATUS text', () => {
  it('Docker units: 1 second, Less than a second, minutes; Created', () => {
    assert.equal(statusText(container({ status: 'exited', exitCode: 3, finishedAt: new Date(now - 1500).toISOString() }), now), 'Exited (3) 1 second ago');
    assert.equal(statusText(container({ status: 'running', startedAt: new Date(now - 400).toISOString() }), now), 'Up Less than a second');
    assert.equal(statusText(container({ status: 'running', startedAt: new Date(now - 125_000).toISOString() }), now), 'Up 2 minutes');
    assert.equal(statusText(container({ status: 'created' }), now), 'Created');
  });

  it("the daemon's list entry has the daemonless STATUS, and reads back as the daemonless row", () => {
    for (const state of [{ status: 'exited', exitCode: 0, finishedAt: new Date(now - 1500).toISOString() }, { status: 'running', startedAt: new Date(now - 90_000).toISOString() }, { status: 'created' }] as Container['state'][]) {
      const c = container(state);
      const entry = containerListEntry(c, now);
      assert.equal(entry.Status, statusText(c, now));
      assert.equal(entry.Command, 'sh -c echo hi');
      assert.deepEqual(summaryOfListEntry(JSON.parse(JSON.stringify(entry))), containerSummary(c, now));
    }
  });
});

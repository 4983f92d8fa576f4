/**
 * `--explain`: change ONE input between two real builds (a context file, a build arg used by
 * a RUN, an ENV value before a RUN, the instruction text) and check that the first step that
 * misses names exactly that input, the steps before it hit, and the steps after it miss
 * because their parent changed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { buildSkipReason, makeContext, removeAll, storeWithBase, writeContext } from './build-fixture.js';

const skip = await buildSkipReason();

const DOCKERFILE = [
  'FROM busybox',
  'ARG V=1',
  'COPY src/ /src/',
  'RUN echo "v=$V" > /v',
  'ENV E=1',
  'RUN echo "e=$E" > /e',
  'RUN echo fixed > /f',
  '',
].join('\n');
const FILES = { Dockerfile: DOCKERFILE, 'src/app.ts': 'export const a = 1;\n', 'src/lib.ts': 'export const b = 2;\n' };

interface CacheEvent {
  type: 'step-cache';
  step: number;
  hit: boolean;
  reason?: string;
}

/**
 * The inputs a miss reason names: `file src/app.ts`, `env E`, `build arg V`, `the instruction`,
 * `its parent`. The aggregate `sources` part of COPY (a digest over all its files, listed
 * beside the per-file parts) is not an input of its own and is left out.
 */
function named(reason: string): string[] {
  return reason
    .split('; ')
    .map((p) => p.replace(/ (changed|added|removed)$/, ''))
    .filter((p) => p !== 'sources')
    .sort();
}

describe('--explain names the one input that changed', { skip }, () => {
  let root: string;
  const dirs: string[] = [];
  before(async () => {
    root = await storeWithBase();
  });
  after(() => removeAll(root, ...dirs));

  /** Builds FILES, applies `change`, builds again with `args`; returns the second build's cache events. */
  async function rebuild(change: (dir: string) => Promise<void>, args: string[] = []): Promise<{ events: CacheEvent[]; plain: string }> {
    const ctx = await makeContext(FILES);
    dirs.push(ctx);
    const first = await runCli(['--root', root, 'build', '--progress=quiet', ctx]);
    assert.equal(first.code, 0, first.err);
    // The same inputs again: every layer step hits.
    const same = await runCli(['--root', root, 'build', '--progress=json', ctx]);
    const sameEvents = same.out.trimEnd().split('\n').map((l) => JSON.parse(l) as CacheEvent).filter((e) => e.type === 'step-cache');
    assert.deepEqual(sameEvents.map((e) => [e.step, e.hit]), [[3, true], [4, true], [6, true], [7, true]]);
    await change(ctx);
    const r = await runCli(['--root', root, 'build', '--progress=json', ...args, ctx]);
    assert.equal(r.code, 0, r.err);
    const events = r.out.trimEnd().split('\n').map((l) => JSON.parse(l) as CacheEvent).filter((e) => e.type === 'step-cache');
    // And the plain --explain view of the same (now cached) build prints one cache line per step.
    const p = await runCli(['--root', root, 'build', '--progress=plain', '--explain', ...args, ctx]);
    assert.equal(p.code, 0, p.err);
    return { events, plain: p.err };
  }

  function check(events: CacheEvent[], firstMiss: number, want: string[]): void {
    for (const e of events) {
      if (e.step < firstMiss) assert.equal(e.hit, true, `step #${e.step} before the change hits`);
      else if (e.step === firstMiss) {
        assert.equal(e.hit, false, `step #${e.step} misses`);
        assert.deepEqual(named(e.reason ?? ''), want, `reason of #${e.step}: ${e.reason}`);
      } else if (!e.hit) {
        assert.ok(named(e.reason ?? '').includes('its parent'), `step #${e.step} after the change: ${e.reason}`);
      }
    }
  }

  it('a context file: "file src/app.ts changed" on the COPY', async () => {
    const { events, plain } = await rebuild((dir) => writeContext(dir, { 'src/app.ts': 'export const a = 42;\n' }));
    check(events, 3, ['file src/app.ts']);
    for (const n of [1, 2, 5]) assert.match(plain, new RegExp(`^#${n} no cache lookup: `, 'm'));
    for (const n of [3, 4, 6, 7]) assert.match(plain, new RegExp(`^#${n} cache hit \\(key sha256:[0-9a-f]{12}\\)$`, 'm'));
  });

  it('an ENV value before a RUN: "env E changed"', async () => {
    const { events } = await rebuild((dir) => writeContext(dir, { Dockerfile: DOCKERFILE.replace('ENV E=1', 'ENV E=2') }));
    check(events, 6, ['env E']);
  });

  it('the instruction text: "the instruction changed"', async () => {
    const { events } = await rebuild((dir) => writeContext(dir, { Dockerfile: DOCKERFILE.replace('echo fixed', 'echo edited') }));
    check(events, 7, ['the instruction']);
  });

  it('a build arg used by a RUN is named "build arg V"', async () => {
    const { events } = await rebuild(async () => {}, ['--build-arg', 'V=3']);
    check(events, 4, ['build arg V']);
  });
});

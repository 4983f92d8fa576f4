/**
 * BuildKit's build checks in a real build (src/checks/checks.ts wired into buildOnce): the warnings
 * a build emits, the `# check=` directive and BUILDKIT_DOCKERFILE_CHECK, `error=true`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildFiles, buildSkipReason, cleanupTemp, eventsOf, makeStoreRoot } from '../helpers/build.js';

const skip = buildSkipReason();

describe('build checks in a build', { skip }, () => {
  let root: string;
  before(async () => {
    root = await makeStoreRoot();
  });
  after(cleanupTemp);

  const rules = (events: { type: string; rule?: string }[]) => events.filter((e) => e.type === 'warning' && e.rule).map((e) => e.rule).sort();

  it('a build reports the rules that fire, once each, with their lines', async () => {
    const r = await buildFiles(root, { Dockerfile: 'FROM busybox as base\nMAINTAINER me\nCMD echo hi\n' });
    assert.deepEqual(rules(r.events), ['FromAsCasing', 'JSONArgsRecommended', 'MaintainerDeprecated']);
    const m = r.events.find((e) => e.type === 'warning' && e.rule === 'MaintainerDeprecated') as { range?: { start: { line: number } } };
    assert.equal(m.range?.start.line, 2);
  });

  it('# check=skip=… and BUILDKIT_DOCKERFILE_CHECK (which overrides it) are honoured', async () => {
    const skipped = await buildFiles(root, { Dockerfile: '# check=skip=MaintainerDeprecated,JSONArgsRecommended\nFROM busybox\nMAINTAINER me\nCMD echo hi\n' });
    assert.deepEqual(rules(skipped.events), []);
    const overridden = await buildFiles(root, { Dockerfile: '# check=skip=MaintainerDeprecated\nFROM busybox\nMAINTAINER me\n' }, { buildArgs: { BUILDKIT_DOCKERFILE_CHECK: 'skip=JSONArgsRecommended' } });
    assert.deepEqual(rules(overridden.events), ['MaintainerDeprecated']);
  });

  it('# check=error=true fails the build when a rule fires; a bad directive is an error', async () => {
    const err = await buildFiles(root, { Dockerfile: '# check=error=true\nFROM busybox\nMAINTAINER me\n' }).then(() => undefined, (e: Error) => e);
    assert.ok(err, 'the build failed');
    assert.match(err.message, /lint violation found for rules: MaintainerDeprecated/);
    assert.deepEqual(rules(eventsOf(err)), ['MaintainerDeprecated']);
    const ok = await buildFiles(root, { Dockerfile: '# check=error=true\nFROM busybox\nLABEL a=b\n' });
    assert.deepEqual(rules(ok.events), []);
    await assert.rejects(buildFiles(root, { Dockerfile: '# check=skip=A;error=maybe\nFROM busybox\n' }));
  });
});

/** Builds at the edge of mybuild's limits (issue 16): they work or fail with a clear error, never a crash. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildFiles, buildSkipReason, cleanupTemp, makeStoreRoot } from '../helpers/build.js';

const skip = buildSkipReason();

describe('builder: limits', { skip }, () => {
  let root: string;
  before(async () => {
    root = await makeStoreRoot();
  });
  after(cleanupTemp);

  it('a chain of 5 000 stages (FROM s0 AS s1, FROM s1 AS s2, …) builds', async () => {
    let text = 'FROM scratch AS s0\n';
    for (let i = 1; i < 5000; i++) text += `FROM s${i - 1} AS s${i}\n`;
    const r = await buildFiles(root, { Dockerfile: `${text}WORKDIR /w\n` });
    assert.equal(r.config.config?.WorkingDir, '/w');
  });

  it('${…} nested 5 000 deep fails the build with the limit and the line', async () => {
    const n = 5000;
    const word = '${a:-'.repeat(n) + 'x' + '}'.repeat(n);
    await assert.rejects(buildFiles(root, { Dockerfile: `FROM scratch\nENV X=${word}\n` }), (err: Error & { code?: string; source?: { range: { start: { line: number } } } }) => {
      assert.match(err.message, /nested more than 1000 deep/);
      assert.equal(err.source?.range.start.line, 2);
      return true;
    });
  });
});

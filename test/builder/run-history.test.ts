/**
 * RUN history: BuildKit's `created_by` with the `|N ARG=val …` prefix of the build args in scope
 * (dockerfile2llb runCommandString; BuildKit's testExportedHistoryFlattenArgs), and ARGs a stage
 * inherits from the stage it is based on (real runc builds).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { buildFiles, buildSkipReason, cleanupTemp, makeStoreRoot, tempDir } from '../helpers/build.js';
import type { ImageConfig } from '../../src/oci/types.js';

const skip = buildSkipReason();

/** The history lines the Dockerfile added (the base image's removed). */
function ownHistory(config: ImageConfig, base: number): string[] {
  return (config.history ?? []).slice(base).map((h) => h.created_by ?? '');
}

describe('builder: RUN history', { skip }, () => {
  let root: string;
  let base: number;
  before(async () => {
    root = await makeStoreRoot();
    base = (await buildFiles(root, { Dockerfile: 'FROM busybox\n' })).config.history?.length ?? 0;
  });
  after(cleanupTemp);

  it('testExportedHistoryFlattenArgs: a redeclared ARG appears once, at its first place, with its last value', async () => {
    const r = await buildFiles(root, { Dockerfile: ['FROM busybox', 'ARG foo=bar', 'ARG bar=123', 'ARG foo=bar2', 'RUN ls /etc/'].join('\n') });
    assert.deepEqual(ownHistory(r.config, base), ['ARG foo=bar', 'ARG bar=123', 'ARG foo=bar2', 'RUN |2 foo=bar2 bar=123 /bin/sh -c ls /etc/ # buildkit']);
  });

  it('an ARG without a value is `NAME=`; ENV of the same name gives its value; --build-arg overrides; exec form and SHELL too', async () => {
    const r = await buildFiles(root, {
      Dockerfile: ['FROM busybox', 'ARG none', 'ARG shadow=arg', 'ENV shadow=env', 'ARG given=default', 'RUN ["true", "x"]', 'SHELL ["/bin/sh", "-ec"]', 'RUN true'].join('\n'),
    }, { buildArgs: { given: 'cli' } });
    const h = ownHistory(r.config, base);
    assert.equal(h[4], 'RUN |3 none= shadow=env given=cli true x # buildkit');
    assert.equal(h[6], 'RUN |3 none= shadow=env given=cli /bin/sh -ec true # buildkit');
  });

  it('no ARG in scope: no prefix; proxy build args are never in it', async () => {
    const r = await buildFiles(root, { Dockerfile: ['FROM busybox', 'RUN true # plain'].join('\n') }, { buildArgs: { http_proxy: 'http://p:1' } });
    assert.deepEqual(ownHistory(r.config, base), ['RUN /bin/sh -c true # plain # buildkit']);
  });

  it('a stage based on another inherits its ARGs: in the RUN env and in the history prefix', async () => {
    const out = await tempDir('mybuild-out-');
    const r = await buildFiles(root, {
      Dockerfile: ['FROM busybox AS parent', 'ARG FOO=123', 'FROM parent AS child', 'ARG BAR=x', 'RUN echo "FOO=$FOO BAR=$BAR" > /o', 'FROM busybox AS other', 'RUN echo "FOO=$FOO" > /p', 'FROM child', 'COPY --from=other /p /p'].join('\n'),
    }, { outputs: [{ type: 'local', dest: out }] });
    assert.equal(readFileSync(path.join(out, 'o'), 'utf8'), 'FOO=123 BAR=x\n');
    assert.equal(readFileSync(path.join(out, 'p'), 'utf8'), 'FOO=\n');
    assert.ok(ownHistory(r.config, base).includes('RUN |2 FOO=123 BAR=x /bin/sh -c echo "FOO=$FOO BAR=$BAR" > /o # buildkit'), ownHistory(r.config, base).join('\n'));
  });

  it('an ARG after an ENV of the same name wins for RUN, words and history (BuildKit\'s state env), the config Env keeps the ENV', async () => {
    const out = await tempDir('mybuild-out-');
    const r = await buildFiles(root, {
      Dockerfile: ['FROM busybox AS b', 'ENV V=img', 'FROM b', 'ENV X=env', 'ARG X=arg', 'ARG V', 'ARG W', 'LABEL x=$X v=$V', 'RUN echo "$X $V" > /o'].join('\n'),
    }, { outputs: [{ type: 'local', dest: out }], buildArgs: { W: 'w' } });
    assert.equal(readFileSync(path.join(out, 'o'), 'utf8'), 'arg img\n');
    assert.deepEqual(r.config.config?.Labels, { x: 'arg', v: 'img' });
    assert.ok(r.config.config?.Env?.includes('X=env'));
    assert.equal(ownHistory(r.config, base).at(-1), 'RUN |3 X=arg V=img W=w /bin/sh -c echo "$X $V" > /o # buildkit');
    // A --build-arg for an ARG over an inherited ENV wins too (kaniko's and podman's BuildKit-parity reports).
    const out2 = await tempDir('mybuild-out-');
    await buildFiles(root, { Dockerfile: ['FROM busybox AS b', 'ENV V=img', 'FROM b', 'ARG V', 'RUN echo "$V" > /o'].join('\n') }, { outputs: [{ type: 'local', dest: out2 }], buildArgs: { V: 'cli' } });
    assert.equal(readFileSync(path.join(out2, 'o'), 'utf8'), 'cli\n');
  });
});

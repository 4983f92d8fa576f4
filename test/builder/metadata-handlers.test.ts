/**
 * The metadata handlers (ENV, ARG, LABEL, USER, WORKDIR's config, EXPOSE, VOLUME, CMD,
 * ENTRYPOINT, SHELL, STOPSIGNAL, HEALTHCHECK, ONBUILD, MAINTAINER) through the dispatcher,
 * without root or a base image: each gets its command expanded once, and the config and
 * history they leave are checked. test/builder/config.test.ts checks the same on real builds.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { targetStage, type StepKeysInput } from './step-keys.js';

const images = { base: { digest: `sha256:${'a'.repeat(64)}`, config: { Env: ['PATH=/bin', 'FROM_IMAGE=img'] } } };
const on = (...lines: string[]): StepKeysInput => ({ dockerfile: `FROM base\n${lines.join('\n')}\n`, images });

describe('metadata handlers (no root)', () => {
  it('ENV expands with the values before its line, image Env included, and keeps positions', async () => {
    const { config } = await targetStage(on('ENV A=1', 'ENV A=2 B=$A C=${FROM_IMAGE}-x', 'ENV PATH=/usr/bin:$PATH'));
    assert.deepEqual(config.config?.Env, ['PATH=/usr/bin:/bin', 'FROM_IMAGE=img', 'A=2', 'B=1', 'C=img-x']);
  });

  it('ARG values (build arg over default) expand later words; ENV wins over ARG', async () => {
    const { config } = await targetStage({ ...on('ARG U=nobody', 'ARG V=1', 'ENV V=env', 'USER $U', 'LABEL v=$V'), buildArgs: { U: 'bob' } });
    assert.equal(config.config?.User, 'bob');
    assert.deepEqual(config.config?.Labels, { v: 'env' });
  });

  it('LABEL, EXPOSE, VOLUME, STOPSIGNAL and WORKDIR are expanded', async () => {
    const { config } = await targetStage({ ...on('ARG P=80', 'ARG D=/data', 'ARG S=SIGINT', 'LABEL "k $P"=$P', 'EXPOSE $P 53/udp', 'VOLUME $D', 'STOPSIGNAL $S', 'WORKDIR $D', 'WORKDIR sub') });
    assert.deepEqual(config.config?.Labels, { 'k 80': '80' });
    assert.deepEqual(config.config?.ExposedPorts, { '80/tcp': {}, '53/udp': {} });
    assert.deepEqual(config.config?.Volumes, { '/data': {} });
    assert.equal(config.config?.StopSignal, 'SIGINT');
    assert.equal(config.config?.WorkingDir, '/data/sub');
  });

  it('CMD and ENTRYPOINT use the SHELL; ENTRYPOINT clears an inherited CMD but not one set in the stage', async () => {
    let { config } = await targetStage(on('SHELL ["/bin/bash", "-c"]', 'CMD echo $HOME', 'ENTRYPOINT ["/e"]'));
    assert.deepEqual(config.config?.Cmd, ['/bin/bash', '-c', 'echo $HOME'], 'CMD is not expanded');
    assert.deepEqual(config.config?.Entrypoint, ['/e']);
    ({ config } = await targetStage({ dockerfile: 'FROM base\nENTRYPOINT ["/e"]\n', images: { base: { digest: images.base.digest, config: { Cmd: ['inherited'] } } } }));
    assert.equal(config.config?.Cmd, undefined);
  });

  it('HEALTHCHECK, ONBUILD (stored, not run) and MAINTAINER', async () => {
    const { config } = await targetStage(on('HEALTHCHECK --interval=5s --retries=3 CMD true', 'ONBUILD RUN echo $X', 'MAINTAINER me <me@example.com>'));
    assert.deepEqual(config.config?.Healthcheck, { Test: ['CMD-SHELL', 'true'], Interval: 5e9, Retries: 3 });
    assert.deepEqual(config.config?.OnBuild, ['RUN echo $X']);
    assert.equal(config.author, 'me <me@example.com>');
  });

  it('every metadata step leaves one empty-layer history entry, with the expanded words', async () => {
    const { config, keys } = await targetStage(on('ARG N=x', 'ENV A=$N', 'LABEL l=$N', 'USER $N'));
    assert.deepEqual(keys, []);
    assert.deepEqual(config.history?.map((h) => [h.created_by, h.empty_layer]), [
      ['ARG N=x', true],
      ['ENV A=x', true],
      ['LABEL l=x', true],
      ['USER x', true],
    ]);
  });

  it('an expansion error points at the instruction', async () => {
    await assert.rejects(targetStage(on('', 'USER ${NOPE:?must be set}')), (err: Error & { source?: { range: { start: { line: number } } } }) => {
      assert.match(err.message, /must be set/);
      assert.equal(err.source?.range.start.line, 3);
      return true;
    });
  });
});

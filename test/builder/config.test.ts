/** Every metadata instruction's effect on the image config, history and rootfs (real builds). */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildFiles, buildSkipReason, cleanupTemp, makeStoreRoot } from '../helpers/build.js';

const skip = buildSkipReason();

describe('builder: config from instructions', { skip }, () => {
  let root: string;
  before(async () => {
    root = await makeStoreRoot();
  });
  after(cleanupTemp);

  it('sets Env, Cmd, Entrypoint, WorkingDir, User, ExposedPorts, Volumes, Labels, StopSignal, Healthcheck, Shell, OnBuild', async () => {
    const r = await buildFiles(root, {
      Dockerfile: [
        'FROM busybox',
        'ENV A=1 B="two words"',
        'ENV C=${A}-x',
        'LABEL org.example.k=v "other label"=yes',
        'EXPOSE 80 53/udp 8000-8001',
        'VOLUME /data',
        'VOLUME ["/cache"]',
        'WORKDIR /app',
        'WORKDIR sub',
        'USER nobody',
        'STOPSIGNAL SIGTERM',
        'HEALTHCHECK --interval=5s --retries=3 CMD wget -q localhost || exit 1',
        'SHELL ["/bin/sh", "-ec"]',
        'ONBUILD RUN echo child',
        'MAINTAINER someone',
        'CMD echo hi',
      ].join('\n'),
    }, { sourceDateEpoch: 0 });
    const c = r.config.config!;
    assert.deepEqual(c.Env, ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'A=1', 'B=two words', 'C=1-x']);
    assert.deepEqual(c.Labels, { 'org.example.k': 'v', 'other label': 'yes' });
    assert.deepEqual(Object.keys(c.ExposedPorts ?? {}).sort(), ['53/udp', '80/tcp', '8000/tcp', '8001/tcp']);
    assert.deepEqual(Object.keys(c.Volumes ?? {}).sort(), ['/cache', '/data']);
    assert.equal(c.WorkingDir, '/app/sub');
    assert.equal(c.User, 'nobody');
    assert.equal(c.StopSignal, 'SIGTERM');
    assert.deepEqual(c.Healthcheck, { Test: ['CMD-SHELL', 'wget -q localhost || exit 1'], Interval: 5_000_000_000, Retries: 3 });
    assert.deepEqual(c.Shell, ['/bin/sh', '-ec']);
    assert.deepEqual(c.OnBuild, ['RUN echo child']);
    // Shell form uses the SHELL in effect.
    assert.deepEqual(c.Cmd, ['/bin/sh', '-ec', 'echo hi']);
    assert.equal(r.config.author, 'someone');
    assert.equal(r.config.created, '1970-01-01T00:00:00Z');

    // History: the base entry, then one per instruction; only WORKDIR steps made layers.
    const h = r.config.history!;
    assert.equal(h.length, 1 + 15);
    const byCmd = (prefix: string) => h.find((e) => e.created_by?.startsWith(prefix));
    assert.equal(byCmd('ENV A=1')?.empty_layer, true);
    assert.equal(byCmd('WORKDIR /app/sub')?.empty_layer, undefined);
    assert.equal(byCmd('WORKDIR /app')?.empty_layer, undefined);
    assert.match(byCmd('CMD')!.created_by!, /^CMD \["\/bin\/sh" "-ec" "echo hi"\]/);
    for (const e of h.slice(1)) assert.equal(e.created, '1970-01-01T00:00:00Z');
    // diff_ids: the base layer plus the two WORKDIR layers.
    assert.equal(r.config.rootfs.diff_ids.length, 3);
    assert.equal(r.manifest.layers.length, 3);
  });

  it('ENTRYPOINT resets an inherited CMD, but keeps a CMD set earlier in the stage', async () => {
    const a = await buildFiles(root, { Dockerfile: 'FROM busybox\nENTRYPOINT ["/bin/echo"]\n' });
    assert.deepEqual(a.config.config?.Entrypoint, ['/bin/echo']);
    assert.equal(a.config.config?.Cmd, undefined);
    const b = await buildFiles(root, { Dockerfile: 'FROM busybox\nCMD ["x"]\nENTRYPOINT /bin/echo y\n' });
    assert.deepEqual(b.config.config?.Entrypoint, ['/bin/sh', '-c', '/bin/echo y']);
    assert.deepEqual(b.config.config?.Cmd, ['x']);
  });

  it('history marks empty layers and diff_ids match layers one to one', async () => {
    const r = await buildFiles(root, { Dockerfile: 'FROM busybox\nENV X=1\nRUN echo a > /a\nRUN true\nCOPY f /f\n', f: 'F' });
    const h = r.config.history!;
    // A RUN that changes nothing still makes a layer (an empty one), as BuildKit's.
    assert.deepEqual(h.map((e) => !!e.empty_layer), [false, true, false, false, false]);
    assert.match(h[2].created_by!, /^RUN \/bin\/sh -c echo a > \/a/);
    assert.match(h[4].created_by!, /^COPY f \/f/);
    assert.equal(r.config.rootfs.diff_ids.length, 4);
  });
});

/**
 * RUN --mount=type=secret: the file's uid, gid and mode (BuildKit: 0:0 0400 unless given), the
 * id taken from source=, and env=NAME (dockerfile 1.10: the secret as an environment variable
 * of the step, a file as well only when a target is given). The value never reaches the image
 * config, the history, a cache key or the store (real runc builds).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { buildFiles, buildSkipReason, cleanupTemp, makeStoreRoot, tempDir } from '../helpers/build.js';

const skip = buildSkipReason();

describe('builder: RUN secret mounts', { skip }, () => {
  let root: string;
  let src: string;
  const value = `S3CR3T-${Math.random().toString(36).slice(2)}-VALUE`;
  before(async () => {
    root = await makeStoreRoot();
    src = path.join(await tempDir('mybuild-secret-'), 'token');
    writeFileSync(src, value);
  });
  after(cleanupTemp);

  async function outOf(lines: string[], opts = {}): Promise<{ o: string; config: unknown }> {
    const out = await tempDir('mybuild-out-');
    const r = await buildFiles(root, { Dockerfile: lines.join('\n') }, { secrets: [{ id: 'tok', src }], outputs: [{ type: 'local', dest: out }], ...opts });
    return { o: readFileSync(path.join(out, 'o'), 'utf8'), config: r.config };
  }

  it('the file is 0:0 0400 by default; uid, gid and mode apply (mode alone keeps 0:0, uid alone keeps 0400)', async () => {
    const { o } = await outOf([
      'FROM busybox',
      'RUN --mount=type=secret,id=tok stat -c "%u:%g %a" /run/secrets/tok > /o',
      'RUN --mount=type=secret,id=tok,uid=1234,gid=4321,mode=0440 stat -c "%u:%g %a" /run/secrets/tok >> /o',
      'RUN --mount=type=secret,id=tok,mode=0777,target=/s stat -c "%u:%g %a" /s >> /o',
      'RUN --mount=type=secret,id=tok,uid=65534 stat -c "%u:%g %a" /run/secrets/tok >> /o',
      'USER nobody',
      'RUN --mount=type=secret,id=tok,uid=65534 wc -c < /run/secrets/tok > /tmp/o',
      'USER root',
      'RUN cat /tmp/o >> /o',
    ]);
    assert.equal(o, `0:0 400\n1234:4321 440\n0:0 777\n65534:0 400\n${value.length}\n`);
  });

  it('source= names the secret (BuildKit: source, else id, else the target\'s base name); the default target is /run/secrets/<id>', async () => {
    const { o } = await outOf(['FROM busybox', 'RUN --mount=type=secret,source=tok wc -c < /run/secrets/tok > /o', 'RUN --mount=type=secret,target=/x/tok wc -c < /x/tok >> /o']);
    assert.equal(o, `${value.length}\n${value.length}\n`);
  });

  it('env=NAME sets the variable and makes no file; with a target, both', async () => {
    const { o, config } = await outOf([
      'FROM busybox',
      'ENV KEEP=1',
      'RUN --mount=type=secret,id=tok,env=TOKEN sh -c \'echo ${#TOKEN}; test -e /run/secrets/tok && echo file || echo nofile\' > /o',
      'RUN --mount=type=secret,id=tok,env=TOKEN,target=/t.txt sh -c \'echo ${#TOKEN}; wc -c < /t.txt\' >> /o',
      'RUN echo "after:${TOKEN:-unset}" >> /o',
    ]);
    assert.equal(o, `${value.length}\nnofile\n${value.length}\n${value.length}\nafter:unset\n`);
    assert.ok(!JSON.stringify(config).includes(value));
    assert.ok(!JSON.stringify(config).includes('TOKEN='), 'the variable is not in the config Env');
    // No blob, cache record, history or build record of the store holds the value.
    const blobs = path.join(root, 'oci', 'blobs', 'sha256');
    for (const name of readdirSync(blobs)) {
      const data = readFileSync(path.join(blobs, name));
      assert.ok(!(data[0] === 0x1f && data[1] === 0x8b ? gunzipSync(data) : data).includes(value), `blob ${name} holds the secret`);
    }
    const grep = spawnSync('grep', ['-rlF', value, root, '--exclude-dir=blobs'], { encoding: 'utf8' });
    assert.equal(grep.stdout, '');
  });

  it('env= of a missing optional secret is set empty (BuildKit); a required one fails naming it', async () => {
    const { o } = await outOf(['FROM busybox', 'RUN --mount=type=secret,id=nope,env=NOPE sh -c \'echo "${NOPE-unset}|${#NOPE}"\' > /o']);
    assert.equal(o, '|0\n');
    await assert.rejects(outOf(['FROM busybox', 'RUN --mount=type=secret,id=nope,env=NOPE,required=true true > /o']), /secret nope not found/);
  });

  it('env= is part of the step: another variable name is another cache key', async () => {
    const lines = (name: string) => ['FROM busybox', `RUN --mount=type=secret,id=tok,env=${name} sh -c 'echo \${#${name}}' > /o`];
    assert.equal((await outOf(lines('A1'))).o, `${value.length}\n`);
    const b = await outOf(lines('B1'));
    assert.equal(b.o, `${value.length}\n`);
  });

  it('env= on a mount that is not a secret is refused, naming it', async () => {
    await assert.rejects(outOf(['FROM busybox', 'RUN --mount=type=tmpfs,target=/t,env=X true > /o']), /env not allowed for "tmpfs" type mounts/);
  });
});

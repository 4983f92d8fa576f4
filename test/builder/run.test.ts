/** RUN: shell/exec/heredoc forms, USER and WORKDIR, mounts, isolation (real runc builds). */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { buildFiles, buildSkipReason, cleanupTemp, makeStoreRoot, tempDir, type InProcessBuild } from '../helpers/build.js';

const skip = buildSkipReason();

/** Text of the files `paths` in the final image (via type=local output). */
async function filesOf(root: string, files: Record<string, string>, paths: string[], opts = {}): Promise<{ r: InProcessBuild; got: Record<string, string> }> {
  const out = await tempDir('mybuild-out-');
  const r = await buildFiles(root, files, { outputs: [{ type: 'local', dest: out }], ...opts });
  const got: Record<string, string> = {};
  for (const p of paths) got[p] = readFileSync(path.join(out, p), 'utf8');
  return { r, got };
}

describe('builder: RUN', { skip }, () => {
  let root: string;
  before(async () => {
    root = await makeStoreRoot();
  });
  after(cleanupTemp);

  it('runs shell form, exec form and heredocs', async () => {
    const { got } = await filesOf(root, {
      Dockerfile: [
        'FROM busybox',
        'RUN echo "shell $((1+2))" > /shell',
        'RUN ["/bin/sh", "-c", "echo exec > /exec"]',
        'RUN <<EOF',
        'echo line1 > /heredoc',
        'echo line2 >> /heredoc',
        'EOF',
        'RUN sh <<EOF',
        'echo "via sh" > /viash',
        'EOF',
        'RUN cat <<EOF > /catfile',
        'hello from cat',
        'EOF',
      ].join('\n'),
    }, ['shell', 'exec', 'heredoc', 'viash', 'catfile']);
    assert.deepEqual(got, { shell: 'shell 3\n', exec: 'exec\n', heredoc: 'line1\nline2\n', viash: 'via sh\n', catfile: 'hello from cat\n' });
  });

  it('runs as USER by name, uid and uid:gid; WORKDIR is created and used', async () => {
    const { r, got } = await filesOf(root, {
      Dockerfile: [
        'FROM busybox',
        'RUN mkdir -m 1777 /o',
        'USER nobody',
        'RUN id -u > /o/name; id -g >> /o/name',
        'USER 1234',
        'RUN id -u > /o/uid; id -g >> /o/uid',
        'USER 1234:4321',
        'RUN id -u > /o/uidgid; id -g >> /o/uidgid',
        'USER root',
        'WORKDIR /made/by/workdir',
        'RUN pwd > /o/pwd',
      ].join('\n'),
    }, ['o/name', 'o/uid', 'o/uidgid', 'o/pwd']);
    assert.deepEqual(got, { 'o/name': '65534\n65534\n', 'o/uid': '1234\n0\n', 'o/uidgid': '1234\n4321\n', 'o/pwd': '/made/by/workdir\n' });
    assert.equal(r.config.config?.WorkingDir, '/made/by/workdir');
  });

  it('an unknown USER fails the RUN with the line of the RUN, and leaves no mount behind', async () => {
    const mountsBefore = readFileSync('/proc/self/mounts', 'utf8').split('\n').filter((l) => l.includes(root)).length;
    await assert.rejects(
      buildFiles(root, { Dockerfile: ['FROM busybox', 'USER nosuchuser', 'RUN true'].join('\n') }),
      (err: Error & { code?: string; source?: { range: { start: { line: number } } } }) => {
        assert.match(err.message, /cannot resolve USER nosuchuser/);
        assert.equal(err.source?.range.start.line, 3);
        return true;
      },
    );
    const mountsAfter = readFileSync('/proc/self/mounts', 'utf8').split('\n').filter((l) => l.includes(root)).length;
    assert.equal(mountsAfter, mountsBefore);
  });

  it('a RUN cannot see host files; with --network=none only lo exists, by default lo and tap0', async () => {
    const marker = path.join(await tempDir('mybuild-host-'), 'host-marker');
    writeFileSync(marker, 'secret host file');
    const { got } = await filesOf(root, {
      Dockerfile: [
        'FROM busybox',
        `RUN if [ -e ${marker} ]; then echo visible; else echo hidden; fi > /marker`,
        'RUN --network=none ls /sys/class/net > /ifaces',
        'RUN ls /sys/class/net > /sandbox-ifaces',
        'RUN hostname > /host',
      ].join('\n'),
    }, ['marker', 'ifaces', 'sandbox-ifaces', 'host']);
    assert.equal(got.marker, 'hidden\n');
    assert.equal(got.ifaces, 'lo\n');
    assert.equal(got['sandbox-ifaces'], 'lo\ntap0\n');
    assert.equal(got.host, 'buildkitsandbox\n');
  });

  it('RUN --mount=type=cache persists across builds; tmpfs leaves nothing in the layer', async () => {
    const df = [
      'FROM busybox',
      'ARG N',
      'RUN --mount=type=cache,target=/cache,id=t1 echo $N >> /cache/log; cat /cache/log > /seen',
      'RUN --mount=type=tmpfs,target=/scratch echo x > /scratch/f && mount | grep -c " /scratch " > /tmpfs-count',
    ].join('\n');
    await buildFiles(root, { Dockerfile: df }, { buildArgs: { N: 'one' } });
    const { r, got } = await filesOf(root, { Dockerfile: df }, ['seen', 'tmpfs-count'], { buildArgs: { N: 'two' } });
    assert.equal(got.seen, 'one\ntwo\n');
    assert.equal(got['tmpfs-count'], '1\n');
    assert.ok(r.misses.length >= 1);
  });

  it('RUN --mount=type=secret: readable in the step, in no blob, history or cache key', async () => {
    const secretValue = `S3CR3T-${Math.random().toString(36).slice(2)}-VALUE`;
    const dir = await tempDir('mybuild-secret-');
    const src = path.join(dir, 'token');
    writeFileSync(src, secretValue);
    const { r, got } = await filesOf(root, {
      Dockerfile: [
        'FROM busybox',
        'RUN --mount=type=secret,id=tok cat /run/secrets/tok | wc -c > /len; ls /run/secrets > /listing 2>&1 || true',
        'RUN --mount=type=secret,id=tok,target=/etc/tok,required=true test -r /etc/tok && echo ok > /req',
      ].join('\n'),
    }, ['len', 'req'], { secrets: [{ id: 'tok', src }] });
    assert.equal(got.len.trim(), String(secretValue.length));
    assert.equal(got.req, 'ok\n');
    // No blob of the store holds the secret, decompressed or not.
    const blobs = path.join(root, 'oci', 'blobs', 'sha256');
    for (const name of readdirSync(blobs)) {
      const data = readFileSync(path.join(blobs, name));
      let plain = data;
      if (data[0] === 0x1f && data[1] === 0x8b) plain = gunzipSync(data);
      assert.ok(!plain.includes(secretValue), `blob ${name} holds the secret`);
    }
    assert.ok(!JSON.stringify(r.config).includes(secretValue));
    // Nowhere else in the store (cache records, history, build records) either.
    const grep = spawnSync('grep', ['-rlF', secretValue, root, '--exclude-dir=blobs'], { encoding: 'utf8' });
    assert.equal(grep.stdout, '');
    assert.equal(grep.status, 1, 'grep found nothing (status 1), not an error (2)');
  });

  it('RUN --mount=type=bind from the context is read-only by default', async () => {
    const { got } = await filesOf(root, {
      Dockerfile: 'FROM busybox\nRUN --mount=type=bind,source=data,target=/in cat /in/a > /copied; (echo x > /in/new) 2>/dev/null && echo writable > /ro || echo readonly > /ro\n',
      'data/a': 'from context\n',
    }, ['copied', 'ro']);
    assert.deepEqual(got, { copied: 'from context\n', ro: 'readonly\n' });
  });

  it('RUN --mount=type=bind,from=<stage> shows that stage read-only', async () => {
    const { got } = await filesOf(root, {
      Dockerfile: [
        'FROM busybox AS tools',
        'RUN echo tool-output > /tool.txt',
        'FROM busybox',
        'RUN --mount=type=bind,from=tools,target=/t cat /t/tool.txt > /got; (touch /t/x) 2>/dev/null && echo rw > /mode || echo ro > /mode',
        'RUN --mount=type=bind,from=tools,source=/tool.txt,target=/one.txt cat /one.txt > /one',
      ].join('\n'),
    }, ['got', 'mode', 'one']);
    assert.deepEqual(got, { got: 'tool-output\n', mode: 'ro\n', one: 'tool-output\n' });
  });

  it('files a RUN creates get clamped mtimes with SOURCE_DATE_EPOCH', async () => {
    const out = await tempDir('mybuild-out-');
    await buildFiles(root, { Dockerfile: 'FROM busybox\nRUN echo x > /made\n' }, { sourceDateEpoch: 1000, outputs: [{ type: 'local', dest: out }] });
    assert.equal(statSync(path.join(out, 'made')).mtimeMs, 1_000_000);
  });
});

describe('builder: RUN --security=insecure', { skip }, () => {
  let root: string;
  before(async () => {
    root = await makeStoreRoot();
  });
  after(cleanupTemp);

  it('is privileged: every capability, writable /sys, no masked /proc paths, host devices (sandbox: the default set)', async () => {
    const probe = 'grep CapEff /proc/self/status | cut -f2; awk "\\$2==\\"/sys\\"{split(\\$4,o,\\",\\");print \\"sys-\\" o[1]}" /proc/mounts; (grep -q " /proc/timer_list " /proc/self/mountinfo && echo masked || echo unmasked); ls /dev | grep -c "^loop" || true';
    const { got } = await filesOf(root, {
      Dockerfile: `FROM busybox\nRUN --security=insecure sh -c '${probe}' > /insecure\nRUN --security=sandbox sh -c '${probe}' > /sandbox\n`,
    }, ['insecure', 'sandbox'], { allow: ['security.insecure'] });
    const [capIns, sysIns, maskIns, loopIns] = got.insecure!.trim().split('\n');
    const [capSb, sysSb, maskSb] = got.sandbox!.trim().split('\n');
    const bounding = BigInt(`0x${/^CapBnd:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))![1]}`);
    assert.equal(BigInt(`0x${capIns}`), bounding, 'every capability mybuild holds');
    assert.equal(BigInt(`0x${capSb}`), 0xa80425fbn, "Docker's default set");
    assert.equal(sysIns, 'sys-rw');
    assert.equal(sysSb, 'sys-ro');
    assert.equal(maskIns, 'unmasked');
    assert.equal(maskSb, 'masked');
    const hostLoops = readdirSync('/dev').filter((n) => n.startsWith('loop')).length;
    assert.equal(Number(loopIns), hostLoops, 'the host devices are there');
  });
});

describe('builder: RUN heredoc with a shebang', { skip }, () => {
  let root: string;
  before(async () => {
    root = await makeStoreRoot();
  });
  after(cleanupTemp);

  it('runs the body under its own interpreter, as BuildKit (testHeredocShebang-style)', async () => {
    const { got } = await filesOf(root, {
      Dockerfile: [
        'FROM busybox',
        'RUN <<EOF',
        '#!/usr/bin/awk -f',
        'BEGIN { print "from awk" > "/awk-out" }',
        'EOF',
        'RUN <<EOT',
        '#!/bin/sh',
        'echo "$0" > /argv0',
        'EOT',
      ].join('\n'),
    }, ['awk-out', 'argv0']);
    assert.equal(got['awk-out'], 'from awk\n');
    assert.equal(got.argv0, '/dev/pipes/EOT\n');
  });

  it('the script body is part of the cache key', async () => {
    const df = (word: string) => `FROM busybox\nRUN <<EOF\n#!/bin/sh\necho ${word} > /w\nEOF\n`;
    const a = await filesOf(root, { Dockerfile: df('one') }, ['w']);
    const b = await filesOf(root, { Dockerfile: df('two') }, ['w']);
    assert.equal(a.got.w, 'one\n');
    assert.equal(b.got.w, 'two\n');
  });
});

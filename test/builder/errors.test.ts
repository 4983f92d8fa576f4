/**
 * Bad input through the CLI (in-process runner): each one a clear error with its exit code
 * (src/errors.ts EXIT_CODES), the Dockerfile position where there is one, no stack trace, and
 * a consistent store afterwards.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { runCli } from '../helpers/cli.js';
import { buildSkipReason, cleanupTemp, loadBase, makeStoreRoot, storeProblems, tempDir, writeContext } from '../helpers/build.js';
import { EXIT_CODES } from '../../src/errors.js';
import { ImageStore } from '../../src/store/image-store.js';

const skip = buildSkipReason();

async function cliBuild(root: string, files: Record<string, string>, extra: string[] = []) {
  const ctx = await writeContext(files);
  return runCli(['--root', root, 'build', '--progress', 'plain', ...extra, ctx], { cwd: ctx, env: { PATH: process.env.PATH } });
}

function noStack(err: string): void {
  assert.doesNotMatch(err, /^\s+at .+:\d+:\d+\)?$/m, `no stack trace in:\n${err}`);
}

describe('builder: bad input', { skip }, () => {
  let root: string;
  before(async () => {
    root = await makeStoreRoot();
  });
  after(async () => {
    assert.deepEqual(await storeProblems(root), []);
    await cleanupTemp();
  });

  const cases: { name: string; files: Record<string, string>; args?: string[]; code: number; want: RegExp[] }[] = [
    {
      name: 'missing COPY source',
      files: { Dockerfile: 'FROM busybox\nCOPY nothere.txt /x\n' },
      code: EXIT_CODES.CONTEXT,
      want: [/Dockerfile:2:1/, /nothere\.txt/],
    },
    {
      name: 'unknown --target',
      files: { Dockerfile: 'FROM busybox AS build\nRUN true\n' },
      args: ['--target', 'biuld'],
      code: EXIT_CODES.PLAN,
      want: [/biuld/, /build/],
    },
    {
      name: 'bad --chown user',
      files: { Dockerfile: 'FROM busybox\nCOPY --chown=nosuchuser f /f\n', f: 'x' },
      code: EXIT_CODES.PLAN,
      want: [/Dockerfile:2:1/, /nosuchuser/],
    },
    {
      name: 'unknown instruction',
      files: { Dockerfile: 'FROM busybox\nRUNN echo hi\n' },
      code: EXIT_CODES.PARSE,
      want: [/Dockerfile:2:1/, /unknown instruction/i, /RUN/],
    },
    {
      name: 'failing RUN',
      files: { Dockerfile: 'FROM busybox\nENV A=1\nRUN echo first-line; echo last-words >&2; exit 3\n' },
      code: EXIT_CODES.STEP_FAILED,
      want: [/exit code: 3/, /Dockerfile:3/, /last-words/, /RUN echo first-line/],
    },
    {
      name: 'a RUN whose process cannot start (no /bin/sh in scratch)',
      files: { Dockerfile: 'FROM scratch\nENV foo=bar\nRUN wh\\\nat\n' },
      code: EXIT_CODES.RUNTIME,
      want: [/Dockerfile:3:1/, /\/bin\/sh/, /hint: \/bin\/sh does not exist in the image/],
    },
    {
      name: '-f pointing nowhere',
      files: { Dockerfile: 'FROM busybox\n' },
      args: ['-f', '/nonexistent/Dockerfile'],
      code: EXIT_CODES.USAGE,
      want: [/\/nonexistent\/Dockerfile/],
    },
    {
      name: 'bad --output',
      files: { Dockerfile: 'FROM busybox\n' },
      args: ['--output', 'type=floppy,dest=/tmp/x'],
      code: EXIT_CODES.USAGE,
      want: [/floppy/, /oci/],
    },
    {
      name: 'COPY --from an unknown stage that is no image either',
      files: { Dockerfile: 'FROM busybox AS builder\nFROM busybox\nCOPY --from=127.0.0.1:1/nostage /x /x\n' },
      code: EXIT_CODES.REGISTRY,
      want: [/Dockerfile:3:1/, /127\.0\.0\.1:1\/nostage/],
    },
    {
      name: 'COPY --from a misspelt stage name',
      files: { Dockerfile: 'FROM busybox AS builder\nFROM busybox\nCOPY --from=biulder /x /x\n' },
      code: EXIT_CODES.PLAN,
      want: [/Dockerfile:3:1/, /biulder/, /hint:.*builder/],
    },
  ];

  for (const c of cases) {
    it(c.name, async () => {
      const r = await cliBuild(root, c.files, c.args);
      assert.equal(r.code, c.code, `exit code; stderr:\n${r.err}`);
      for (const w of c.want) assert.match(r.err, w);
      noStack(r.err);
      assert.deepEqual(await storeProblems(root), []);
    });
  }

  it('a corrupt layer blob in the store: a digest mismatch error, not a crash', async () => {
    const r2 = await makeStoreRoot();
    const store = await ImageStore.open(r2);
    const img = await store.resolve('busybox:latest');
    const blob = path.join(r2, 'oci', 'blobs', 'sha256', img.manifest.layers[0].digest.slice(7));
    const data = readFileSync(blob);
    data[Math.floor(data.length / 2)] ^= 0xff;
    writeFileSync(blob, data);
    const r = await cliBuild(r2, { Dockerfile: 'FROM busybox\nRUN echo x > /y\n' });
    assert.equal(r.code, EXIT_CODES.DIGEST_MISMATCH, r.err);
    assert.match(r.err, /digest|mismatch|corrupt/i);
    noStack(r.err);
    // check reports the corrupt blob (it is a real problem), and nothing else.
    const problems = await storeProblems(r2);
    assert.ok(problems.every((p) => p.subject.includes(img.manifest.layers[0].digest.slice(7)) || p.message.includes(img.manifest.layers[0].digest)), JSON.stringify(problems));
  });

  it('a full disk: IO error "no space left on device", store consistent after', async (t) => {
    const dir = await tempDir('mybuild-tmpfs-');
    const mnt = path.join(dir, 'm');
    mkdirSync(mnt);
    const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', mnt]);
    if (m.status !== 0) {
      t.skip(`cannot mount a tmpfs: ${m.stderr}`);
      return;
    }
    try {
      const small = path.join(mnt, 'root');
      await loadBase(small);
      const big = randomBytes(12 << 20);
      const ctx = await writeContext({ Dockerfile: 'FROM busybox\nCOPY big /big\n' });
      writeFileSync(path.join(ctx, 'big'), big);
      const r = await runCli(['--root', small, 'build', '--progress', 'plain', ctx], { cwd: ctx, env: { PATH: process.env.PATH } });
      assert.equal(r.code, EXIT_CODES.IO, r.err);
      assert.match(r.err, /no space left on device/i);
      noStack(r.err);
      assert.deepEqual(await storeProblems(small), []);
      assert.deepEqual(readdirSync(path.join(small, 'ingest')).filter((f) => statSync(path.join(small, 'ingest', f)).size > 0), []);
    } finally {
      spawnSync('umount', ['-l', mnt]);
    }
  });
});

/** docs/exit-codes.md lists every error code with the exit code src/errors.ts gives it. */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { EXIT_CODES } from '../../src/errors.js';
import { repoRoot } from '../helpers/paths.js';

it('docs/exit-codes.md matches EXIT_CODES', async () => {
  const doc = await readFile(path.join(repoRoot, 'docs', 'exit-codes.md'), 'utf8');
  const documented = new Map<string, number>();
  for (const m of doc.matchAll(/^\| (\d+) +\| ([^|]*)\|/gm)) {
    for (const c of m[2].matchAll(/`([A-Z_]+)`/g)) documented.set(c[1], Number(m[1]));
  }
  assert.deepEqual(Object.fromEntries([...documented].sort()), Object.fromEntries(Object.entries(EXIT_CODES).sort()));
});

describe('command-line parse errors', () => {
  it('a flag without its value is a usage error (exit 2), not an internal error', async () => {
    const { runCli } = await import('../helpers/cli.js');
    const r = await runCli(['--root', '/nonexistent-mybuild-root', 'load', '-i']);
    assert.equal(r.code, 2);
    assert.match(r.err, /mybuild load: flag needs an argument: 'i' in -i/);
    assert.doesNotMatch(r.err, /bug in mybuild/);
  });
});

describe('a closed pipe', () => {
  // `mybuild images | head -1`: the reader goes away. Like docker and coreutils (killed by
  // SIGPIPE, 141 in a shell), mybuild stops quietly: no EPIPE stack trace, no exit 70.
  it('ends images, inspect and save quietly with 141 (or 0 when all was written)', async (t) => {
    const { execFile } = await import('node:child_process');
    const { mkdtemp, mkdir, writeFile, rm } = await import('node:fs/promises');
    const os = await import('node:os');
    const { binPath } = await import('../helpers/paths.js');
    const tmp = await mkdtemp(path.join(os.tmpdir(), 'mybuild-pipe-'));
    t.after(() => rm(tmp, { recursive: true, force: true }));
    const sh = (cmd: string) =>
      new Promise<{ code: number; stderr: string }>((resolve) => {
        execFile('bash', ['-c', `${cmd}; exit \${PIPESTATUS[0]}`], { env: { ...process.env, M: binPath, R: path.join(tmp, 'root') } }, (err, _o, stderr) =>
          resolve({ code: err ? (err as { code: number }).code : 0, stderr }));
      });
    await mkdir(path.join(tmp, 'ctx'));
    // A few MB so that `save` is still writing when head exits.
    await writeFile(path.join(tmp, 'ctx', 'big'), Buffer.alloc(4 << 20, 7));
    await writeFile(path.join(tmp, 'ctx', 'Dockerfile'), 'FROM scratch\nCOPY big /big\nLABEL a=b\n');
    const built = await sh('"$M" --root "$R" build -q -t pipe:1 ' + path.join(tmp, 'ctx'));
    assert.equal(built.code, 0, built.stderr);
    for (const cmd of ['"$M" --root "$R" save pipe:1 | head -c 10 >/dev/null', '"$M" --root "$R" inspect pipe:1 | head -c 1 >/dev/null', '"$M" --root "$R" images | true']) {
      const r = await sh(cmd);
      assert.ok(r.code === 141 || r.code === 0, `${cmd}: exit ${r.code}\n${r.stderr}`);
      assert.equal(r.stderr, '', cmd);
    }
    assert.equal((await sh('"$M" --root "$R" save pipe:1 | head -c 10 >/dev/null')).code, 141);
  });
});

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
    assert.match(r.err, /argument missing/);
    assert.doesNotMatch(r.err, /bug in mybuild/);
  });
});

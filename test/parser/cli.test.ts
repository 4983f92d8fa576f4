// `mybuild parse` through the CLI's run() with in-memory streams.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCli } from '../helpers/cli.js';

function cli(args: string[], opts: { stdin?: string; cwd?: string } = {}) {
  return runCli(args, { stdin: opts.stdin, cwd: opts.cwd ?? process.cwd() });
}

describe('mybuild parse', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'mybuild-parse-'));
  writeFileSync(path.join(dir, 'Dockerfile'), 'FROM alpine\nRUN echo hi\n');
  writeFileSync(path.join(dir, 'Bad.Dockerfile'), 'FROM alpine\nRUNN echo hi\n');
  writeFileSync(path.join(dir, 'Broken.Dockerfile'), 'FROM alpine\nENV X\n');

  it('prints the dump of ./Dockerfile by default', async () => {
    assert.deepEqual(await cli(['parse'], { cwd: dir }), { code: 0, out: '(from "alpine")\n(run "echo hi")\n', err: '' });
  });

  it('--json prints the AST with ranges', async () => {
    const r = await cli(['parse', '--json', '-f', 'Dockerfile'], { cwd: dir });
    assert.equal(r.code, 0);
    const ast = JSON.parse(r.out);
    assert.equal(ast.instructions[1].kind, 'RUN');
    assert.deepEqual(ast.instructions[1].range.start, { line: 2, col: 1, offset: 12 });
  });

  it('-f - reads stdin', async () => {
    const r = await cli(['parse', '--dump', '-f', '-'], { stdin: 'FROM a\nCMD ["x"]\n' });
    assert.deepEqual(r, { code: 0, out: '(from "a")\n(cmd "x")\n', err: '' });
  });

  it('unknown instruction: error without --dump, dumped with it', async () => {
    const r = await cli(['parse', '-f', 'Bad.Dockerfile'], { cwd: dir });
    assert.equal(r.code, 3);
    assert.match(r.err, /^error: Bad\.Dockerfile:2:1: unknown instruction: RUNN\n 2 \| RUNN echo hi\n   \| \^\^\^\^\nhint: did you mean RUN\?\n$/);
    const d = await cli(['parse', '--dump', '-f', 'Bad.Dockerfile'], { cwd: dir });
    assert.deepEqual(d, { code: 0, out: '(from "alpine")\n(runn "")\n', err: '' });
  });

  it('parse error: exit 3 with location', async () => {
    const r = await cli(['parse', '-f', 'Broken.Dockerfile'], { cwd: dir });
    assert.equal(r.code, 3);
    assert.match(r.err, /^error: Broken\.Dockerfile:2:1: ENV must have two arguments\n/);
  });

  it('bad flags and missing files', async () => {
    assert.equal((await cli(['parse', '--nope'], { cwd: dir })).code, 2);
    assert.equal((await cli(['parse', '--dump', '--json'], { cwd: dir })).code, 2);
    const r = await cli(['parse', '-f', 'missing'], { cwd: dir });
    assert.equal(r.code, 1);
    assert.match(r.err, /Dockerfile not found/);
  });

  it('cleanup', () => rmSync(dir, { recursive: true, force: true }));
});

/**
 * `mybuild build --check` and `--call=check|outline|targets` (src/cli/call.ts): the Dockerfile
 * is evaluated, not built, as `docker buildx build --call=…`: the report is printed, --check
 * exits 1 when a warning fired (0 with ignorestatus), and no store is written.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';

describe('build --check / --call', () => {
  let dir: string;
  let root: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'mybuild-call-'));
    root = path.join(dir, 'root');
    await writeFile(path.join(dir, 'Dockerfile'), '# base is a stage for tools\nFROM busybox as base\n# VERSION of the tool\nARG VERSION=1\nRUN echo $VERSION\nFROM base AS final\n');
    await writeFile(path.join(dir, 'Clean.Dockerfile'), 'FROM busybox AS base\n');
    await writeFile(path.join(dir, 'Copy.Dockerfile'), 'FROM busybox\nCOPY secret.txt /\n');
    await writeFile(path.join(dir, '.dockerignore'), 'secret.txt\n');
    await writeFile(path.join(dir, 'secret.txt'), 'x');
  });
  after(() => rm(dir, { recursive: true, force: true }));
  const cli = (...args: string[]) => runCli(['--root', root, ...args], { cwd: dir });

  it('--check prints the warnings and exits 1; nothing is built', async () => {
    const r = await cli('build', '--check', '.');
    assert.equal(r.code, 1, r.err);
    assert.match(r.out, /^Check complete, 1 warning has been found!\n\nWARNING: FromAsCasing - https:\/\/docs\.docker\.com\/go\/dockerfile\/rule\/from-as-casing\/\n'as' and 'FROM' keywords' casing do not match\nDockerfile:2\n/);
    assert.equal(existsSync(root), false, 'a check writes no store');
  });

  it('--check sees the context: a COPY of a .dockerignore\'d file', async () => {
    const r = await cli('build', '--check', '-f', 'Copy.Dockerfile', '.');
    assert.equal(r.code, 1);
    assert.match(r.out, /WARNING: CopyIgnoredFile/);
    assert.match(r.out, /Attempting to Copy file "secret\.txt" that is excluded by \.dockerignore\nCopy\.Dockerfile:2\n/);
  });

  it('--check on a clean Dockerfile (-f) exits 0; ignorestatus=true makes warnings exit 0', async () => {
    const clean = await cli('build', '--check', '-f', 'Clean.Dockerfile', '.');
    assert.equal(clean.code, 0, clean.out + clean.err);
    assert.equal(clean.out, 'Check complete, no warnings found.\n');
    const ignored = await cli('build', '--call=check,ignorestatus=true', '.');
    assert.equal(ignored.code, 0);
    assert.match(ignored.out, /FromAsCasing/);
  });

  it('--call=check,format=json prints BuildKit\'s lint result', async () => {
    const r = await cli('build', '--call=check,format=json', '.');
    assert.equal(r.code, 1);
    const doc = JSON.parse(r.out) as { warnings: { ruleName: string }[] };
    assert.deepEqual(doc.warnings.map((w) => w.ruleName), ['FromAsCasing']);
  });

  it('--call=outline prints the target\'s build args; --target picks the stage', async () => {
    const r = await cli('build', '--call=outline', '.');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^TARGET: final\n/);
    assert.match(r.out, /VERSION +1 +of the tool/);
    const t = await cli('build', '--call=outline', '--target', 'base', '.');
    assert.match(t.out, /^TARGET: +base\nDESCRIPTION: +is a stage for tools\n/);
  });

  it('--call=targets lists the stages (text and json)', async () => {
    const r = await cli('build', '--call=targets', '.');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^TARGET +DESCRIPTION\nbase +is a stage for tools\nfinal \(default\) *\n$/);
    const j = await cli('build', '--call=targets,format=json', '.');
    assert.deepEqual((JSON.parse(j.out) as { targets: { name: string }[] }).targets.map((t) => t.name), ['base', 'final']);
  });

  it('a bad --call value is refused', async () => {
    const r = await cli('build', '--call=describe', '.');
    assert.notEqual(r.code, 0);
    assert.match(r.err, /unsupported --call method "describe"/);
  });
});

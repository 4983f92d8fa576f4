/**
 * `mybuild run`'s exit codes are docker's (docs/run.md): the container's own; 125 when run
 * itself fails (flags, values, a missing image, the pull), 126 when the command cannot be
 * invoked, 127 when it is not found.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { buildSkipReason, cleanupTemp, makeStoreRoot } from '../helpers/build.js';
import { repoRoot } from '../helpers/paths.js';

describe('run exit codes', { skip: buildSkipReason() }, () => {
  let root: string;
  before(async () => {
    root = await makeStoreRoot();
  });
  after(cleanupTemp);
  const run = (...args: string[]) => runCli(['--root', root, 'run', '--rm', ...args]);

  it('125 for run\'s own errors, with the error on stderr', async () => {
    for (const args of [['--bogus', 'busybox'], [], ['--network', 'mynet', 'busybox', 'true'], ['-v', 'nocolon', 'busybox', 'true'], ['127.0.0.1:1/nosuch:1', 'true'], ['no/such:image@bad', 'true']]) {
      const r = await run(...args);
      assert.equal(r.code, 125, `${args.join(' ')}: ${r.err}`);
      assert.match(r.err, /error: /, args.join(' '));
    }
  });

  it('126 for a command that cannot be invoked, 127 for one not found, else the container\'s code', async () => {
    assert.equal((await run('busybox', '/etc/passwd')).code, 126);
    assert.equal((await run('busybox', '/')).code, 126);
    const nf = await run('busybox', 'nosuchcmd');
    assert.equal(nf.code, 127);
    assert.match(nf.err, /executable file not found/);
    assert.equal((await run('busybox', 'sh', '-c', 'exit 3')).code, 3);
    assert.equal((await run('busybox', 'sh', '-c', 'exit 125')).code, 125);
  });

  it('docs/run.md says the same', () => {
    const doc = readFileSync(path.join(repoRoot, 'docs', 'run.md'), 'utf8');
    assert.match(doc, /125 when `run` itself fails/);
    assert.match(doc, /126 when the command cannot be\s+invoked/);
    assert.match(doc, /127 when it is not found/);
  });
});

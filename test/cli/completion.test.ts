/**
 * `mybuild completion bash|zsh|fish` (src/cli/completion.ts): the bash script, loaded in a real
 * bash, registers `complete -F _mybuild mybuild` and, called with COMP_WORDS as bash calls it,
 * completes commands, docker's groups, every flag of every command (from the help tables), and
 * image and container names from the store (through `mybuild __complete`).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LocalEngine } from '../../src/engine/local.js';
import { allHelps } from '../../src/cli/help-index.js';
import { runCli } from '../helpers/cli.js';
import { cleanupTemp, cliSkipReason, makeStoreRoot, tempDir } from '../helpers/build.js';
import { baseImageSkipReason } from '../helpers/base-image.js';
import { cliPath } from '../helpers/paths.js';

describe('shell completion', { skip: cliSkipReason() || baseImageSkipReason() || (process.getuid?.() !== 0 && 'needs root (container snapshots)') }, () => {
  let root: string;
  let script: string;
  let bin: string;
  before(async () => {
    root = await makeStoreRoot();
    const engine = new LocalEngine({ root, env: {} });
    await engine.images.tag('busybox', 'docker.io/team/app:2');
    await engine.containers.create({ image: 'busybox', name: 'quiet-otter', cmd: ['true'] });
    const dir = await tempDir();
    script = path.join(dir, 'mybuild.bash');
    const r = await runCli(['completion', 'bash']);
    assert.equal(r.code, 0, r.err);
    await writeFile(script, r.out);
    bin = path.join(dir, 'bin');
    await mkdir(bin);
    await writeFile(path.join(bin, 'mybuild'), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(cliPath)} "$@"\n`);
    await chmod(path.join(bin, 'mybuild'), 0o755);
  });
  after(cleanupTemp);

  /** Runs the completion function on `words` (the last one is being completed) in bash. */
  function complete(words: string[]): string[] {
    const arr = words.map((w) => `'${w.replace(/'/g, `'\\''`)}'`).join(' ');
    const r = spawnSync('bash', ['-c', `source ${JSON.stringify(script)}; COMP_WORDS=(${arr}); COMP_CWORD=${words.length - 1}; _mybuild; printf '%s\\n' "\${COMPREPLY[@]}"`], {
      env: { PATH: `${bin}:/usr/bin:/bin`, MYBUILD_ROOT: root },
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.split('\n').filter(Boolean).sort();
  }

  it('registers the function: complete -p mybuild', () => {
    const r = spawnSync('bash', ['-c', `source ${JSON.stringify(script)}; complete -p mybuild`], { encoding: 'utf8' });
    assert.equal(r.stdout.trim(), 'complete -F _mybuild mybuild');
  });

  it('commands, groups and subcommands', () => {
    assert.deepEqual(complete(['mybuild', 'im']), ['image', 'images', 'import']);
    assert.deepEqual(complete(['mybuild', 'image', 'l']), ['list', 'load', 'ls']);
    assert.deepEqual(complete(['mybuild', 'system', 'd']), ['df']);
    assert.deepEqual(complete(['mybuild', 'completion', '']), ['bash', 'fish', 'zsh']);
    assert.deepEqual(complete(['mybuild', '--root', '/x', 'bu']), ['build', 'builder', 'buildx']);
    assert.deepEqual(complete(['mybuild', '--ro']), ['--root']);
  });

  it('every flag of every command, from the help tables', async () => {
    for (const { command, help } of await allHelps()) {
      const want = Object.entries(help.flags).flatMap(([n, f]) => [`--${n}`, ...(f.short ? [`-${f.short}`] : [])]).filter((w) => w.startsWith('--')).sort();
      assert.deepEqual(complete(['mybuild', command, '--']), want, command);
    }
    assert.deepEqual(complete(['mybuild', 'image', 'ls', '--di']), ['--digests']);
    assert.deepEqual(complete(['mybuild', 'system', 'df', '--f']), ['--format']);
  });

  it('image and container names from the store', () => {
    assert.deepEqual(complete(['mybuild', 'rmi', '']), ['busybox:latest', 'team/app:2']);
    assert.deepEqual(complete(['mybuild', 'run', '--rm', 'te']), ['team/app:2']);
    assert.deepEqual(complete(['mybuild', 'image', 'rm', 'b']), ['busybox:latest']);
    assert.deepEqual(complete(['mybuild', 'rm', '']), ['quiet-otter']);
    assert.deepEqual(complete(['mybuild', 'container', 'logs', 'q']), ['quiet-otter']);
  });

  it('zsh loads the same through bashcompinit; fish lists every command and flag', async () => {
    const zsh = await runCli(['completion', 'zsh']);
    assert.match(zsh.out, /^#compdef mybuild\n/);
    assert.match(zsh.out, /bashcompinit/);
    assert.ok(zsh.out.includes('complete -F _mybuild mybuild'));
    const fish = await runCli(['completion', 'fish']);
    for (const { command, help } of await allHelps()) {
      assert.ok(fish.out.includes(`-a '${command}'`), command);
      for (const name of Object.keys(help.flags)) assert.ok(fish.out.includes(`__fish_seen_subcommand_from ${command}' -l ${name}`), `${command} --${name}`);
    }
    const bad = await runCli(['completion', 'tcsh']);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /unsupported shell "tcsh"/);
  });
});

/**
 * Command-line flag errors (src/cli/args.ts): every command answers an unknown flag, a flag
 * without its value and a bad boolean value with mybuild's own message in docker's wording
 * (`unknown flag: --tagg`, `flag needs an argument: 't' in -t`), a "Did you mean" for a near
 * miss, and exit code 2; never node's parseArgs text.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { COMMANDS } from '../../src/cli/commands.js';
import { runCli } from '../helpers/cli.js';

const ROOT = ['--root', '/nonexistent-mybuild-flags-root'];

/** node:util parseArgs's wording, which must never reach the user. */
const NODE_TEXT = /Unknown option|argument missing|does not take an argument|To specify a positional/;

describe('unknown flags', () => {
  it('build --tagg: "unknown flag" with the suggestion, exit 2', async () => {
    const r = await runCli([...ROOT, 'build', '--tagg', 'x', '.']);
    assert.equal(r.code, 2);
    assert.equal(r.err, "error: mybuild build: unknown flag: --tagg\nDid you mean --tag?\nhint: see 'mybuild build --help'\n");
  });

  it('the implicit build (mybuild --tagg x .) says the same', async () => {
    const r = await runCli([...ROOT, '--tagg', 'x', '.']);
    assert.equal(r.code, 2);
    assert.match(r.err, /^error: mybuild build: unknown flag: --tagg\nDid you mean --tag\?\n/);
  });

  it('every command rejects an unknown flag with its own name in the message', async () => {
    for (const name of Object.keys(COMMANDS)) {
      const r = await runCli([...ROOT, name, '--no-such-flag-zz']);
      assert.equal(r.code, name === 'run' ? 125 : 2, `${name}: ${r.err}`); // docker run exits 125 for its own errors
      assert.match(r.err, new RegExp(`^error: mybuild ${name}: unknown flag: --no-such-flag-zz\\n`), name);
      assert.doesNotMatch(r.err, NODE_TEXT, name);
    }
  });

  it('suggests the closest flag of the command, and nothing for a far one', async () => {
    const cases: [string[], string | undefined][] = [
      [['images', '--digestss'], '--digests'],
      [['build', '--progres=plain', '.'], '--progress'],
      [['build', '--buildarg', 'A=1', '.'], '--build-arg'],
      [['run', '--rmm', 'img'], '--rm'],
      [['push', '--quite', 'x'], '--quiet'],
      [['build', '--completely-different', '.'], undefined],
    ];
    for (const [argv, want] of cases) {
      const r = await runCli([...ROOT, ...argv]);
      assert.equal(r.code, argv[0] === 'run' ? 125 : 2, argv.join(' ')); // docker run: 125
      if (want) assert.match(r.err, new RegExp(`\\nDid you mean ${want}\\?\\n`), argv.join(' '));
      else assert.doesNotMatch(r.err, /Did you mean/, argv.join(' '));
    }
  });

  it('an unknown shorthand names the letter and the argument, as pflag', async () => {
    const r = await runCli([...ROOT, 'build', '-qx', '.']);
    assert.equal(r.code, 2);
    assert.match(r.err, /^error: mybuild build: unknown shorthand flag: 'x' in -qx\n/);
  });
});

describe('flag values', () => {
  it('a flag without its value: at the end, or followed by another flag', async () => {
    for (const [argv, text] of [
      [['build', '--tag'], 'flag needs an argument: --tag'],
      [['build', '-t'], "flag needs an argument: 't' in -t"],
      [['build', '-t', '--push', '.'], "flag needs an argument: 't' in -t"],
      [['pull', '--platform'], 'flag needs an argument: --platform'],
      [['run', '--name'], 'flag needs an argument: --name'],
    ] as const) {
      const r = await runCli([...ROOT, ...argv]);
      assert.equal(r.code, argv[0] === 'run' ? 125 : 2, argv.join(' ')); // docker run: 125
      assert.match(r.err, new RegExp(`^error: mybuild ${argv[0]}: ${text}\\n`), argv.join(' '));
      assert.doesNotMatch(r.err, NODE_TEXT);
    }
    // A value that starts with a dash is given inline; the hint says so.
    const r = await runCli([...ROOT, 'build', '-t', '--push', '.']);
    assert.match(r.err, /write --tag=--push/);
  });

  it('a boolean flag takes true/false after "=", as docker; anything else is an invalid argument', async () => {
    const bad = await runCli([...ROOT, 'build', '--no-cache=maybe', '.']);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /^error: mybuild build: invalid argument "maybe" for "--no-cache" flag: /);
    // --no-cache=false parses (the build then fails on the missing context, not on the flag).
    const ok = await runCli([...ROOT, 'build', '--no-cache=false', '/nonexistent-mybuild-ctx']);
    assert.doesNotMatch(ok.err, /--no-cache/);
  });

  it('a positional argument to a command that takes none', async () => {
    const r = await runCli([...ROOT, 'parse', 'extra']);
    assert.equal(r.code, 2);
    assert.match(r.err, /^error: mybuild parse: unexpected argument "extra"/);
  });
});

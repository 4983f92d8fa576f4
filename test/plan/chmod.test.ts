/**
 * --chmod values (src/plan/chmod.ts): octal modes, and symbolic modes with BSD setmode(3)'s
 * semantics as BuildKit applies them (dchapes-mode, umask 0): the examples of that package's
 * documentation, `X` judged on the file's original mode, and BuildKit's error texts.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseChmodFlag } from '../../src/plan/chmod.js';

function apply(spec: string, mode: number, isDir = false): string {
  const c = parseChmodFlag(spec);
  if ('error' in c) throw new Error(c.error);
  return c.apply(mode, isDir).toString(8).padStart(4, '0');
}

describe('plan: --chmod', () => {
  it('octal replaces the mode, up to 07777', () => {
    assert.equal(apply('0644', 0o777), '0644');
    assert.equal(apply('7', 0o777), '0007');
    assert.equal(apply('4755', 0o600), '4755');
    assert.equal(parseChmodFlag('0644').hasOwnProperty('octal'), true);
  });

  it('symbolic clauses as chmod(1): who, +/-/=, rwxXst, copies from u/g/o', () => {
    assert.equal(apply('u+x,g-w', 0o664), '0744');
    assert.equal(apply('go-w', 0o777), '0755');
    assert.equal(apply('u=rwx,go=rx', 0o600), '0755');
    assert.equal(apply('u=rwx,go=u-w', 0o600), '0755');
    assert.equal(apply('go=', 0o777), '0700');
    assert.equal(apply('go=u-w', 0o700), '0755');
    assert.equal(apply('u+s,g+s', 0o755), '6755');
    assert.equal(apply('+t', 0o755), '1755');
    assert.equal(apply('o+t', 0o755), '0755', 'sticky with only "other" is ignored (setmode)');
    assert.equal(apply('u+rx-w', 0o200), '0500', 'several operations in one clause');
    assert.equal(apply('a-rwx', 0o777), '0000');
  });

  it('X: execute when the file was executable by anyone, or is a directory', () => {
    assert.equal(apply('+X', 0o644), '0644');
    assert.equal(apply('+X', 0o744), '0755');
    assert.equal(apply('+X', 0o644, true), '0755');
    // `=rw,+X` keeps an execute bit the file had (X reads the original mode).
    assert.equal(apply('=rw,+X', 0o744), '0777');
    assert.equal(apply('=rw,+X', 0o644), '0666');
  });

  it('errors: BuildKit\'s text for numeric-looking values, "invalid syntax" otherwise', () => {
    assert.deepEqual(parseChmodFlag('64a'), { error: "invalid chmod parameter: '64a'. it should be octal string and between 0 and 07777" });
    assert.deepEqual(parseChmodFlag('10000'), { error: "invalid chmod parameter: '10000'. it should be octal string and between 0 and 07777" });
    assert.deepEqual(parseChmodFlag('0o755'), { error: "invalid chmod parameter: '0o755'. it should be octal string and between 0 and 07777" });
    for (const bad of ['u+q', 'u', 'x', ',', 'u+x,', 'u+x g-w', '']) assert.match((parseChmodFlag(bad) as { error: string }).error, /invalid syntax/, bad);
  });
});

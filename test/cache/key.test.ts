import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cacheKey, describeChanges, diffParts, envParts } from '../../src/cache/key.js';

describe('cacheKey', () => {
  it('is stable for the same parts and differs when any part changes', () => {
    const a = cacheKey(['parent=sha256:1', 'cmd=RUN echo hi']);
    const b = cacheKey(['parent=sha256:1', 'cmd=RUN echo hi']);
    const c = cacheKey(['parent=sha256:1', 'cmd=RUN echo ho']);
    assert.equal(a.digest, b.digest);
    assert.notEqual(a.digest, c.digest);
    assert.match(a.digest, /^sha256:[0-9a-f]{64}$/);
  });

  it('does not confuse part boundaries', () => {
    assert.notEqual(cacheKey(['ab', 'c']).digest, cacheKey(['a', 'bc']).digest);
    assert.notEqual(cacheKey(['a\n1:b']).digest, cacheKey(['a', 'b']).digest);
  });

  it('sorts env parts so declaration order does not matter', () => {
    assert.deepEqual(envParts('env', [['B', '2'], ['A', '1']]), ['env:A=1', 'env:B=2']);
  });
});

describe('diffParts', () => {
  it('names exactly the parts that changed', () => {
    const got = diffParts(
      ['parent=sha256:1', 'cmd=COPY . /app', 'file:src/a.ts=sha256:a', 'file:src/b.ts=sha256:b'],
      ['parent=sha256:1', 'cmd=COPY . /app', 'file:src/a.ts=sha256:c', 'file:src/b.ts=sha256:b', 'arg:X=1'],
    );
    assert.deepEqual(got, [
      { kind: 'changed', name: 'file:src/a.ts', before: 'sha256:a', after: 'sha256:c' },
      { kind: 'added', name: 'arg:X', after: '1' },
    ]);
    assert.equal(describeChanges(got), 'file src/a.ts changed; build arg X added');
  });
});

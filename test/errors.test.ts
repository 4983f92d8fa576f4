/** src/errors.ts: error kinds are checked by code, so a subclass and `new BuildError(code)` agree. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AlreadyExistsError, BuildError, DigestMismatchError, hasCode, isAlreadyExists, isDigestMismatch, isNotFound, isRegistryError, NotFoundError, RegistryError } from '../src/errors.js';

describe('errors: kinds by code', () => {
  const rows = [
    { name: 'NOT_FOUND', check: isNotFound, made: [new NotFoundError('x'), new BuildError('NOT_FOUND', 'x')] },
    { name: 'ALREADY_EXISTS', check: isAlreadyExists, made: [new AlreadyExistsError('x'), new BuildError('ALREADY_EXISTS', 'x')] },
    { name: 'DIGEST_MISMATCH', check: isDigestMismatch, made: [new DigestMismatchError('x'), new BuildError('DIGEST_MISMATCH', 'x')] },
    { name: 'REGISTRY', check: isRegistryError, made: [new RegistryError('x'), new BuildError('REGISTRY', 'x')] },
  ];
  for (const { name, check, made } of rows) {
    it(`${name}: the subclass and new BuildError('${name}') are the same kind; others are not`, () => {
      for (const err of made) assert.equal(check(err), true);
      assert.equal(check(new BuildError('IO', 'x')), false);
      assert.equal(check(new Error('x')), false);
      assert.equal(check(Object.assign(new Error('x'), { code: name })), false, 'a plain Error with the code string is not a BuildError');
    });
  }

  it('hasCode tells any code', () => {
    assert.equal(hasCode(new BuildError('CANCELED', 'x'), 'CANCELED'), true);
    assert.equal(hasCode(new BuildError('CANCELED', 'x'), 'IO'), false);
    assert.equal(hasCode(undefined, 'IO'), false);
  });
});

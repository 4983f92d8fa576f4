/** src/errors.ts: error kinds are checked by code, so a subclass and `new BuildError(code)` agree. */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from './helpers/paths.js';
import { AlreadyExistsError, BuildError, DigestMismatchError, errorOfKind, hasCode, InternalError, ParseError, PlanError, UsageError, isAlreadyExists, isDigestMismatch, isNotFound, isRegistryError, NotFoundError, RegistryError } from '../src/errors.js';

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

describe('errors: one way to make each kind', () => {
  const classes = { PARSE: ParseError, PLAN: PlanError, NOT_FOUND: NotFoundError, ALREADY_EXISTS: AlreadyExistsError, DIGEST_MISMATCH: DigestMismatchError, REGISTRY: RegistryError, USAGE: UsageError, INTERNAL: InternalError } as const;

  it("errorOfKind gives the kind's class, with message and options", () => {
    for (const [code, Kind] of Object.entries(classes)) {
      const e = errorOfKind(code as keyof typeof classes, 'm', { hint: 'h' });
      assert.ok(e instanceof Kind, code);
      assert.equal(e.name, Kind.name);
      assert.deepEqual([e.code, e.message, e.hint], [code, 'm', 'h']);
    }
    const io = errorOfKind('IO', 'm');
    assert.equal(io.constructor, BuildError);
    assert.equal(io.code, 'IO');
  });

  it("src/ makes a kind with a class only by that class, and checks kinds by code, not instanceof a subclass", () => {
    const files = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []));
    const kinds = Object.keys(classes).join('|');
    const subclasses = Object.values(classes).map((c) => c.name).join('|');
    const bad = new RegExp(`new BuildError\\('(?:${kinds})'|instanceof (?:${subclasses})\\b`);
    const src = path.join(repoRoot, 'src');
    const offenders = files(src)
      .filter((f) => path.relative(src, f) !== 'errors.ts')
      .flatMap((f) => readFileSync(f, 'utf8').split('\n').flatMap((l, i) => (bad.test(l) ? [`${path.relative(repoRoot, f)}:${i + 1}: ${l.trim()}`] : [])));
    assert.deepEqual(offenders, [], 'write new NotFoundError(…) (or errorOfKind(code, …)), and check with isNotFound(err) / hasCode(err, code)');
  });
});

// Golden folders: fixtures/parser/<case>/{Dockerfile,result} (BuildKit dump) and
// fixtures/parser-negative/<case>/{Dockerfile,error} (first line: `Dockerfile:L:C: message`).
// UPDATE_GOLDEN=1 rewrites result/error files; review the diff.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fixturesDir } from '../helpers/paths.js';
import { dump, parseDockerfile } from '../../src/parser/index.js';
import { ParseError } from '../../src/errors.js';

const update = process.env.UPDATE_GOLDEN === '1';
const cases = (d: string): string[] => (existsSync(d) ? readdirSync(d).sort() : []);

describe('golden fixtures', () => {
  const root = path.join(fixturesDir, 'parser');
  for (const c of cases(root)) {
    it(c, () => {
      const text = readFileSync(path.join(root, c, 'Dockerfile'), 'utf8');
      const got = dump(parseDockerfile(text).ast);
      const file = path.join(root, c, 'result');
      if (update) writeFileSync(file, got);
      assert.equal(got, readFileSync(file, 'utf8'));
    });
  }
});

describe('negative golden fixtures', () => {
  const root = path.join(fixturesDir, 'parser-negative');
  for (const c of cases(root)) {
    it(c, () => {
      const text = readFileSync(path.join(root, c, 'Dockerfile'), 'utf8');
      let err: unknown;
      try {
        parseDockerfile(text);
      } catch (e) {
        err = e;
      }
      assert.ok(err instanceof ParseError, `expected a ParseError, got ${String(err)}`);
      const file = path.join(root, c, 'error');
      if (update) writeFileSync(file, `${err.headline}\n`);
      assert.equal(err.headline, readFileSync(file, 'utf8').split('\n')[0]);
    });
  }
});

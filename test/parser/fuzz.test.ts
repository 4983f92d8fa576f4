// Mutation fuzzing: corpus files (or built-in seeds when ../shared is absent) mutated with a
// seeded PRNG must either parse or throw ParseError: never another exception, never > 1 s.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { sharedPath } from '../helpers/paths.js';
import { mulberry32 } from '../helpers/prng.js';
import { fixturesDir } from '../helpers/paths.js';
import { dump, parseDockerfile } from '../../src/parser/index.js';
import { ParseError } from '../../src/errors.js';

function seeds(): string[] {
  const corpus = sharedPath('corpus/dockerfiles');
  const dirs = corpus.skip ? [] : readdirSync(corpus.path).sort().map((f) => path.join(corpus.path, f));
  const fx = path.join(fixturesDir, 'parser');
  const own = existsSync(fx) ? readdirSync(fx).map((c) => path.join(fx, c, 'Dockerfile')) : [];
  return [...dirs, ...own].map((p) => readFileSync(p, 'utf8'));
}

const INSERTS = ['\\\n', '\\', '`', '"', "'", '<<EOF', '<<-"EOF"\n', '[', ']', '["a", 1]', '\ufeff', '\r', '\r\n', '\n', '#', '# escape=`\n', '--', '--x="', '=', ' ', '\t', 'ONBUILD ', 'ENV ', 'EOF\n', '\u00a0', '\u0085', '\ud800', 'é'];

it('3000 mutated Dockerfiles parse or throw ParseError, each in < 1 s', () => {
  const rnd = mulberry32(0x5eed);
  const pool = seeds();
  assert.ok(pool.length > 0);
  let parsed = 0;
  let failed = 0;
  for (let i = 0; i < 3000; i++) {
    let t = pool[Math.floor(rnd() * pool.length)];
    const n = 1 + Math.floor(rnd() * 4);
    for (let k = 0; k < n; k++) {
      const at = Math.floor(rnd() * (t.length + 1));
      const op = rnd();
      if (op < 0.15) t = t.slice(0, at);
      else if (op < 0.35) t = t.slice(0, at) + String.fromCharCode(Math.floor(rnd() * 128)) + t.slice(at + 1);
      else t = t.slice(0, at) + INSERTS[Math.floor(rnd() * INSERTS.length)] + t.slice(at);
    }
    const t0 = performance.now();
    try {
      dump(parseDockerfile(t).ast);
      parsed++;
    } catch (e) {
      if (!(e instanceof ParseError)) assert.fail(`case ${i}: ${String((e as Error)?.stack ?? e)}\n--- input ---\n${t.slice(0, 2000)}`);
      failed++;
    }
    const ms = performance.now() - t0;
    assert.ok(ms < 1000, `case ${i} took ${ms} ms`);
  }
  assert.equal(parsed + failed, 3000);
  assert.ok(parsed > 0 && failed > 0, `both outcomes expected (parsed ${parsed}, failed ${failed})`);
});

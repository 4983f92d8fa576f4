// Runs every compiled test file (dist/test/**/*.test.js) with node's built-in runner.
// Usage: node scripts/run-tests.mjs [substring …]   (only files whose path contains one of them)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import fg from 'fast-glob';
import path from 'node:path';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const filters = process.argv.slice(2);
let files = fg.sync('dist/test/**/*.test.js', { cwd: root }).sort();
if (filters.length) files = files.filter((f) => filters.some((s) => f.includes(s)));
if (files.length === 0) {
  console.error('run-tests: no test files found (did the build run?)');
  process.exit(1);
}
// A fresh CLI code cache for every run (scripts/cli-loader.cjs): each command's first spawn in
// the suite runs cold and writes it, the later ones run warm, so both paths are tested each time.
const codeCache = mkdtempSync(path.join(os.tmpdir(), 'mybuild-test-code-cache-'));
const r = spawnSync(process.execPath, ['--test', '--test-reporter=spec', '--test-concurrency=2', ...files],
  { cwd: root, stdio: 'inherit', env: { ...process.env, XDG_CACHE_HOME: codeCache } });
rmSync(codeCache, { recursive: true, force: true });
process.exit(r.status ?? 1);

// Runs the benchmarks (dist/bench/*.js after `npm run build`).
// Usage: npm run bench [-- name …]   e.g. npm run bench -- parse
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import fg from 'fast-glob';
import path from 'node:path';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
if (!existsSync(path.join(root, 'dist'))) spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
const names = process.argv.slice(2);
let files = fg.sync('dist/bench/*.js', { cwd: root }).sort();
if (names.length) files = files.filter((f) => names.some((n) => path.basename(f, '.js') === n));
let failed = 0;
for (const f of files) {
  console.log(`\n== bench ${path.basename(f, '.js')} ==`);
  const r = spawnSync(process.execPath, ['--expose-gc', f], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);

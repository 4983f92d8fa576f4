// Runs the benchmarks (dist/bench/*.js after `npm run build`), then prints a Markdown summary
// of every bench/results/*.json (case, mybuild, peer, ratio, target, met?) and writes it to
// bench/results/summary.md.
// Usage: npm run bench [-- name …]   e.g. npm run bench -- build compress
//        npm run bench -- --summary   (only the summary of the stored results)
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { existsSync, readFileSync, readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import fg from 'fast-glob';
import path from 'node:path';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const args = process.argv.slice(2);
const summaryOnly = args.includes('--summary');
const names = args.filter((a) => !a.startsWith('--'));
let failed = 0;
if (!summaryOnly) {
  if (!existsSync(path.join(root, 'dist', 'bench'))) spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
  let files = fg.sync('dist/bench/*.js', { cwd: root }).sort().filter((f) => path.basename(f) !== 'lib.js');
  if (names.length) files = files.filter((f) => names.some((n) => path.basename(f, '.js') === n));
  for (const f of files) {
    console.log(`\n== bench ${path.basename(f, '.js')} ==`);
    const r = spawnSync(process.execPath, ['--expose-gc', f], { cwd: root, stdio: 'inherit' });
    if (r.status !== 0) failed++;
  }
}

const fmt = (x) => (Number.isFinite(x) ? x.toFixed(3) : '-');
const dir = path.join(root, 'bench', 'results');
const rows = ['| bench | case | mybuild s (min..max) | peer | peer s (min..max) | ratio | target | met? |', '|---|---|---|---|---|---|---|---|'];
for (const file of existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json')).sort() : []) {
  const r = JSON.parse(readFileSync(path.join(dir, file), 'utf8'));
  for (const c of r.cases) {
    const me = c.sides.find((s) => s.tool === 'mybuild');
    const peers = c.sides.filter((s) => s.tool !== 'mybuild');
    const cell = (s) => (s ? `${fmt(s.median)} (${fmt(s.min)}..${fmt(s.max)})` : '-');
    if (!peers.length) rows.push(`| ${r.bench} | ${c.case} | ${cell(me)} | - | - | - | ${c.note ?? ''} | |`);
    for (const p of peers) {
      const t = c.targets?.[p.tool];
      rows.push(`| ${r.bench} | ${c.case} | ${cell(me)} | ${p.tool} | ${cell(p)} | ${fmt(c.ratios[p.tool])}x | ${t ? `<= ${t.max}x` : ''} | ${t ? (t.met ? 'yes' : 'NO') : ''} |`);
    }
  }
  for (const s of r.skipped ?? []) rows.push(`| ${r.bench} | ${s.case} | | ${s.tool} | skipped: ${s.reason} | | | |`);
  for (const e of r.errors ?? []) rows.push(`| ${r.bench} | ${e.case} | ERROR: ${e.error.split('\n')[0]} | | | | | |`);
}
mkdirSync(dir, { recursive: true });
writeFileSync(path.join(dir, 'summary.md'), `${rows.join('\n')}\n`);
console.log(`\n${rows.join('\n')}`);
process.exit(failed ? 1 : 0);

/**
 * Parser throughput: parseDockerfile vs dockerfile-ast's DockerfileParser.parse on the shared
 * corpus (../shared/corpus/dockerfiles). Same inputs, same process, warm-up, then several rounds;
 * prints the median MB/s of each and the ratio. Run: npm run bench -- parse.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DockerfileParser } from 'dockerfile-ast';
import { parseDockerfile } from '../src/parser/index.js';

function findRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
  return dir;
}

const shared = process.env.MYBUILD_SHARED ?? path.resolve(findRoot(), '..', 'shared');
const dir = path.join(shared, 'corpus', 'dockerfiles');
if (!existsSync(dir)) {
  console.log(`skip: ${dir} is absent (the corpus lives in ../shared beside the checkout)`);
  process.exit(0);
}
const files = readdirSync(dir).sort().map((f) => readFileSync(path.join(dir, f), 'utf8'));
const bytes = files.reduce((n, t) => n + Buffer.byteLength(t), 0);

function round(fn: (t: string) => unknown): number {
  const t0 = process.hrtime.bigint();
  for (const t of files) fn(t);
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

function measure(name: string, fn: (t: string) => unknown, rounds: number): number {
  for (let i = 0; i < 3; i++) round(fn); // warm-up
  const times: number[] = [];
  for (let i = 0; i < rounds; i++) times.push(round(fn));
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)];
  const mbs = bytes / 1e6 / median;
  console.log(`${name.padEnd(16)} ${mbs.toFixed(2).padStart(8)} MB/s  (median of ${rounds} rounds, ${(median * 1000).toFixed(1)} ms/round)`);
  return mbs;
}

const rounds = Number(process.env.BENCH_ROUNDS ?? 9);
console.log(`corpus: ${files.length} files, ${(bytes / 1e6).toFixed(2)} MB`);
const ours = measure('mybuild', (t) => parseDockerfile(t), rounds);
const theirs = measure('dockerfile-ast', (t) => DockerfileParser.parse(t), rounds);
console.log(`ratio: ${(ours / theirs).toFixed(2)}x (target >= 3x)`);

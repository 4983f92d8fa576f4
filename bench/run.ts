/**
 * RUN benchmarks: per-step overhead of RUN (10 `RUN` steps, cold) and the whiteout case of the
 * peers (three RUNs deleting files, dirs and base files), mybuild vs Buildah and BuildKit,
 * interleaved, cold (--no-cache) so every RUN really runs. Target (issue 4): at most 0.5x
 * Buildah's time per RUN step.
 *
 * Run: npm run bench -- run   (BENCH_RUNS=N)
 */
import { cpSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  BASE_IMAGE,
  Report,
  benchTmp,
  buildahBuild,
  buildkitBuild,
  checkBuildah,
  checkBuildkit,
  cleanupPeerTags,
  makeStore,
  mybuildBuild,
  peerEnv,
  peersDir,
  runCase,
  runsFor,
  writeTree,
  type Side,
} from './lib.js';

const report = new Report('run');
const buildah = checkBuildah();
const buildkit = checkBuildkit();
const root = makeStore('run');
const tags: string[] = [];

function sides(tag: string, ctx: string): Side[] {
  tags.push(tag);
  const out: Side[] = [{ tool: 'mybuild', cmd: () => mybuildBuild(root, ctx, ['--no-cache', '-t', `bench:${tag}`]) }];
  if (buildah.ok) out.push({ tool: 'buildah', cmd: () => buildahBuild(ctx), env: peerEnv('buildah', tag, true) });
  else report.skip(tag, 'buildah', buildah.reason!);
  if (buildkit.ok) out.push({ tool: 'buildkit', cmd: () => buildkitBuild(ctx), env: peerEnv('buildkit', tag, true) });
  else report.skip(tag, 'buildkit', buildkit.reason!);
  return out;
}

const runs = runsFor(5);
const ctx10 = path.join(benchTmp, 'ctx-run10');
rmSync(ctx10, { recursive: true, force: true });
writeTree(ctx10, { Dockerfile: `FROM ${BASE_IMAGE}\n${Array.from({ length: 10 }, (_, i) => `RUN echo ${i} > /step${i}`).join('\n')}\n` });
const ctx1 = path.join(benchTmp, 'ctx-run1');
rmSync(ctx1, { recursive: true, force: true });
writeTree(ctx1, { Dockerfile: `FROM ${BASE_IMAGE}\nRUN true\n` });

await report.guard('RUN steps', async () => {
  const one = await runCase('1 x RUN true, cold', sides('run1', ctx1), { runs, warmup: 1 });
  report.add(one);
  const ten = await runCase('10 x RUN, cold', sides('run10', ctx10), { runs, warmup: 1 });
  // Per-step cost: (10 steps - 1 step) / 9, per tool; the target compares it with Buildah's.
  const per: Record<string, number> = {};
  for (const s of ten.sides) {
    const o = one.sides.find((x) => x.tool === s.tool);
    if (o) per[s.tool] = (s.median - o.median) / 9;
  }
  const parts = Object.entries(per).map(([t, v]) => `${t} ${(v * 1000).toFixed(0)} ms`);
  const ratio = per.buildah ? per.mybuild / per.buildah : Number.NaN;
  ten.note = `per RUN step ((10 steps - 1 step)/9): ${parts.join(', ')}; mybuild/buildah ${ratio.toFixed(2)}x (target <= 0.5x: ${ratio <= 0.5 ? 'met' : 'MISSED'})`;
  (ten as unknown as { perStep: Record<string, number> }).perStep = per;
  report.add(ten);
});

const wh = path.join(peersDir, 'cases', '07-whiteout');
if (existsSync(path.join(wh, 'Dockerfile'))) {
  const ctx = path.join(benchTmp, 'ctx-whiteout');
  rmSync(ctx, { recursive: true, force: true });
  cpSync(wh, ctx, { recursive: true });
  writeFileSync(path.join(ctx, 'Dockerfile'), readFileSync(path.join(wh, 'Dockerfile'), 'utf8'));
  await report.guard('whiteout (peers case 07)', async () => {
    report.add(await runCase('whiteout (07), 3 RUNs, cold', sides('whiteout', ctx), { runs, warmup: 1, targets: { buildah: 0.5 } }));
  });
} else report.skip('whiteout (07)', 'all', `${wh} is absent`);

report.write();
cleanupPeerTags(tags);
if (report.errors.length) process.exitCode = 1;

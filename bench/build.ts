/**
 * Build benchmarks: mybuild vs Buildah and docker's BuildKit (private dockerd), interleaved,
 * build only (each tool keeps the result in its own store; peers with EXPORT=0).
 *
 * Cases: warm no-op rebuild (small context); warm rebuild after one source file changed (only
 * the COPY of that file and the RUN after it rerun); cold (--no-cache) and warm builds of a
 * 200 MB context with one COPY (peers/gen-bigctx.sh: random bytes), a cold build of a context of
 * compressible files (the host's /usr/lib), and of a 20 000-file context; a cold
 * multi-stage build with 4 independent stages (each `RUN sleep 0.3`: parallel stages finish in
 * about one sleep); and the warm no-op once more with both tools as client + warm daemon (the same
 * docker CLI against `mybuild daemon` and against dockerd/BuildKit). Targets (issue 8 / issue 3): warm <= 1.0x BuildKit and <= 0.2x Buildah;
 * cold <= 0.8x BuildKit and <= 0.5x Buildah.
 *
 * Run: npm run bench -- build   (BENCH_RUNS=N, BENCH_CASES=small,big,usr,files,stages to choose)
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  BASE_IMAGE,
  baselineCli,
  Report,
  benchTmp,
  buildahBuild,
  buildkitBuild,
  checkBuildah,
  checkBuildkit,
  cleanupPeerTags,
  cliPath,
  makeStore,
  mybuildBuild,
  peerEnv,
  peersDir,
  runCase,
  runsFor,
  sh,
  writeTree,
  type Side,
} from './lib.js';

const report = new Report('build');
const buildah = checkBuildah();
const buildkit = checkBuildkit();
const wanted = (process.env.BENCH_CASES ?? 'small,big,usr,files,stages').split(',');
const WARM = { buildkit: 1.0, buildah: 0.2 };
const COLD = { buildkit: 0.8, buildah: 0.5 };
const tags: string[] = [];

/** Sides for one context: mybuild (own store) and the installed peers. */
function sides(tag: string, ctx: string, root: string, cold: boolean, prepare?: (r: number) => void): Side[] {
  tags.push(tag);
  const out: Side[] = [{ tool: 'mybuild', cmd: () => mybuildBuild(root, ctx, [...(cold ? ['--no-cache'] : []), '-t', `bench:${tag}`]), prepare }];
  // Its own code cache: older loaders delete every other bundle's cache at each start.
  if (baselineCli) out.push({ tool: 'mybuild-base', cmd: () => mybuildBuild(baseRoot!, ctx, [...(cold ? ['--no-cache'] : []), '-t', `bench:${tag}`], undefined, baselineCli), env: { XDG_CACHE_HOME: path.join(benchTmp, 'base-code-cache') }, prepare });
  if (buildah.ok) out.push({ tool: 'buildah', cmd: () => buildahBuild(ctx), env: peerEnv('buildah', tag, cold), prepare });
  else report.skip(tag, 'buildah', buildah.reason!);
  if (buildkit.ok) out.push({ tool: 'buildkit', cmd: () => buildkitBuild(ctx), env: peerEnv('buildkit', tag, cold), prepare });
  else report.skip(tag, 'buildkit', buildkit.reason!);
  return out;
}

const root = makeStore('build');
const baseRoot = baselineCli ? makeStore('build-base', baselineCli) : undefined;

/**
 * Both tools as client and warm daemon: the same docker CLI (/usr/bin/docker 20.10, the one the
 * peers' scripts use, `--network none` as they pass it) sends the same build to `mybuild daemon`
 * (legacy build API, DOCKER_BUILDKIT=0) on this bench's store and to the peers' dockerd
 * (BuildKit). This is the like-for-like comparison for the warm targets ("<= 1.0x BuildKit,
 * which keeps a daemon warm"); the other rows run mybuild daemonless. The daemon is started
 * for the cases run inside `fn` and stopped after them.
 */
async function withDaemonSides(storeRoot: string, fn: (sides: (tag: string, ctx: string, prepare?: (r: number) => void) => Side[]) => Promise<void>): Promise<void> {
  const docker = '/usr/bin/docker';
  if (!buildkit.ok || !existsSync(docker)) throw new Error(`needs the peers' dockerd and ${docker}: ${buildkit.reason ?? `${docker} is missing`}`);
  const sock = path.join(benchTmp, 'bench-daemon.sock');
  rmSync(sock, { force: true });
  const daemon = spawn(cliPath, ['--root', storeRoot, 'daemon', '-H', `unix://${sock}`], { stdio: 'ignore' });
  try {
    for (let i = 0; i < 100 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 50));
    if (!existsSync(sock)) throw new Error('mybuild daemon did not start');
    const dockerConfig = path.join(benchTmp, 'docker-config');
    mkdirSync(dockerConfig, { recursive: true });
    await fn((tag, ctx, prepare) => {
      tags.push(tag);
      const argv = (name: string): string[] => [docker, 'build', '-q', '--network', 'none', '-t', name, ctx];
      return [
        { tool: 'mybuild', cmd: () => argv(`bench:${tag}`), env: { DOCKER_HOST: `unix://${sock}`, DOCKER_BUILDKIT: '0', DOCKER_CONFIG: dockerConfig }, prepare },
        { tool: 'buildkit', cmd: () => argv(`mybuild-bench:${tag}`), env: { DOCKER_HOST: 'unix:///run/peers/docker.sock', DOCKER_BUILDKIT: '1', DOCKER_CONFIG: dockerConfig }, prepare },
      ];
    });
  } finally {
    daemon.kill('SIGTERM');
  }
}

if (wanted.includes('small')) {
  const ctx = path.join(benchTmp, 'ctx-small');
  rmSync(ctx, { recursive: true, force: true });
  const files: Record<string, string> = {
    Dockerfile: `FROM ${BASE_IMAGE}\nCOPY deps/ /app/deps/\nRUN cat /app/deps/* > /deps.txt\nCOPY src/ /app/src/\nRUN cat /app/src/* | wc -c > /src-size.txt\nCMD ["cat", "/src-size.txt"]\n`,
  };
  for (let i = 0; i < 20; i++) files[`deps/dep${i}.txt`] = `dependency ${i}\n`.repeat(50);
  for (let i = 0; i < 20; i++) files[`src/mod${i}.txt`] = `module ${i}\n`.repeat(50);
  writeTree(ctx, files);
  await report.guard('warm no-op (small)', async () => {
    report.add(await runCase('warm no-op (small)', sides('small-noop', ctx, root, false), { runs: runsFor(7), warmup: 1, targets: WARM }));
  });
  let n = 0;
  const change = (): void => writeFileSync(path.join(ctx, 'src', 'mod0.txt'), `changed ${n++} ${process.pid}\n`);
  await report.guard('warm, 1 file changed (small)', async () => {
    report.add(
      await runCase('warm, 1 file changed (small)', sides('small-change', ctx, root, false, change), {
        runs: runsFor(7),
        warmup: 1,
        targets: WARM,
        note: 'reruns COPY src/ and one RUN',
      }),
    );
  });
  await report.guard('client to daemon (small)', () =>
    withDaemonSides(root, async (daemonSides) => {
      const note = 'the same docker CLI (20.10) against a warm mybuild daemon and a warm dockerd (BuildKit)';
      report.add(await runCase('warm no-op (small), via daemon', daemonSides('small-noop-daemon', ctx), { runs: runsFor(7), warmup: 1, targets: { buildkit: WARM.buildkit }, note }));
      report.add(
        await runCase('1 file changed (small), via daemon', daemonSides('small-change-daemon', ctx, change), { runs: runsFor(7), warmup: 1, targets: { buildkit: WARM.buildkit }, note }),
      );
    }),
  );
}

if (wanted.includes('big')) {
  const ctx = process.env.BENCH_BIGCTX ?? '/var/lib/peers/bigctx';
  await report.guard('200 MB context', async () => {
    if (!existsSync(path.join(ctx, '.complete'))) sh(['bash', path.join(peersDir, 'gen-bigctx.sh'), ctx]);
    report.add(await runCase('200 MB context, cold (--no-cache)', sides('big-cold', ctx, root, true), { runs: runsFor(3), warmup: 1, targets: COLD }));
    report.add(await runCase('200 MB context, warm no-op', sides('big-warm', ctx, root, false), { runs: runsFor(5), warmup: 1, targets: WARM }));
  });
}

if (wanted.includes('usr')) {
  // The 200 MB context above is random bytes, which mybuild stores without deflating; this one
  // is ordinary, compressible files (libraries from the host's /usr/lib), so the cold build
  // pays for gzip the way real contexts do.
  const ctx = path.join(benchTmp, 'ctx-usr');
  await report.guard('compressible context', async () => {
    if (!existsSync(path.join(ctx, '.complete'))) {
      rmSync(ctx, { recursive: true, force: true });
      mkdirSync(path.join(ctx, 'data'), { recursive: true });
      sh(['bash', '-c', `cd /usr/lib/x86_64-linux-gnu && ls | head -220 | tar cf - -T - 2>/dev/null | tar xf - -C ${JSON.stringify(path.join(ctx, 'data'))}`]);
      writeFileSync(path.join(ctx, 'Dockerfile'), `FROM ${BASE_IMAGE}\nCOPY data/ /data/\n`);
      writeFileSync(path.join(ctx, '.dockerignore'), '.complete\n');
      writeFileSync(path.join(ctx, '.complete'), 'usr\n');
    }
    const mb = Number(sh(['du', '-sm', path.join(ctx, 'data')]).split('\t')[0]);
    report.add(await runCase(`${mb} MB of /usr/lib files (compressible), cold`, sides('usr-cold', ctx, root, true), { runs: runsFor(3), warmup: 1, targets: COLD }));
  });
}

if (wanted.includes('files')) {
  const ctx = path.join(benchTmp, 'ctx-20k');
  await report.guard('20 000-file context', async () => {
    if (!existsSync(path.join(ctx, '.complete'))) {
      rmSync(ctx, { recursive: true, force: true });
      for (let d = 0; d < 200; d++) {
        const dir = path.join(ctx, 'tree', `d${String(d).padStart(3, '0')}`);
        mkdirSync(dir, { recursive: true });
        for (let f = 0; f < 100; f++) writeFileSync(path.join(dir, `f${f}.txt`), `file ${d}/${f}\n`.repeat(1 + ((d * 100 + f) % 64)));
      }
      writeFileSync(path.join(ctx, 'Dockerfile'), `FROM ${BASE_IMAGE}\nCOPY tree/ /data/\n`);
      writeFileSync(path.join(ctx, '.dockerignore'), '.complete\n');
      writeFileSync(path.join(ctx, '.complete'), '20000\n');
    }
    report.add(await runCase('20 000 files, cold (--no-cache)', sides('files-cold', ctx, root, true), { runs: runsFor(3), warmup: 1, targets: COLD }));
    report.add(await runCase('20 000 files, warm no-op', sides('files-warm', ctx, root, false), { runs: runsFor(5), warmup: 1, targets: WARM }));
  });
}

if (wanted.includes('stages')) {
  const ctx = path.join(benchTmp, 'ctx-stages');
  rmSync(ctx, { recursive: true, force: true });
  let df = '';
  for (let i = 0; i < 4; i++) df += `FROM ${BASE_IMAGE} AS s${i}\nRUN sleep 0.3 && echo ${i} > /out${i}.txt\n\n`;
  df += `FROM ${BASE_IMAGE}\n${[0, 1, 2, 3].map((i) => `COPY --from=s${i} /out${i}.txt /`).join('\n')}\n`;
  writeTree(ctx, { Dockerfile: df });
  await report.guard('4 independent stages', async () => {
    report.add(
      await runCase('4 independent stages, cold', sides('stages-cold', ctx, root, true), {
        runs: runsFor(3),
        warmup: 1,
        targets: COLD,
        note: 'each stage RUN sleep 0.3; sequential stages need >= 1.2 s',
      }),
    );
  });
}

// A run of only some cases keeps the other cases' last results in build.json.
report.write({ keepOthers: process.env.BENCH_CASES !== undefined });
cleanupPeerTags(tags);
if (report.errors.length) process.exitCode = 1;

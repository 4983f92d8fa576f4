/**
 * Shared helpers of the benchmark suite (`npm run bench [-- name…]`, files `bench/<name>.ts`,
 * compiled to dist/bench and run by scripts/run-bench.mjs).
 *
 * Method: every case runs its sides (mybuild and each installed peer) INTERLEAVED, run after
 * run (mybuild, buildah, buildkit, mybuild, buildah, …), so the noise of this shared 2-core
 * machine hits every side alike. Each timed run is a whole process under `/usr/bin/time`:
 * wall time from `process.hrtime`, peak RSS (`%M`, the largest process of the tree that
 * was waited for) from GNU time. A case reports median, min and max per side and the ratio of
 * medians mybuild/peer, printed as a table and written as JSON to `bench/results/<bench>.json`.
 *
 * Environment: `BENCH_RUNS` (timed runs per side, default per bench), `MYBUILD_CLI` (the CLI
 * to measure, default `<repo>/dist/bin/mybuild.js`), `PEERS_DIR` (default `<repo>/../shared/peers`),
 * `BENCH_TMP` (scratch, default `$TMPDIR/mybuild-bench`).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('bench: cannot find the repository root (package.json)');
    dir = up;
  }
  return dir;
}

/** The repository root (the directory holding package.json). */
export const repoRoot = findRoot();
/** The mybuild CLI under test: the package's bin (the sh launcher), executed directly as users run it. */
export const cliPath = process.env.MYBUILD_CLI ?? path.join(repoRoot, 'dist', 'bin', 'mybuild');
/**
 * `BENCH_BASELINE_CLI`: another build of mybuild (say a worktree of an older commit) run as one
 * more side, `mybuild-base`, interleaved with the others: before/after figures of a change in
 * one run. Its ratio column is this build's time over the baseline's.
 */
export const baselineCli = process.env.BENCH_BASELINE_CLI;
/** The peer scripts (../shared/peers). */
export const peersDir = process.env.PEERS_DIR ?? path.resolve(repoRoot, '..', 'shared', 'peers');
/** Scratch space of the suite. */
export const benchTmp = process.env.BENCH_TMP ?? path.join(process.env.TMPDIR || os.tmpdir(), 'mybuild-bench');
/** The base image every case builds FROM (the peers' registry name). */
export const BASE_IMAGE = '127.0.0.1:5000/library/busybox:latest';
/** The peers' OCI layout of that base (loaded into mybuild's store). */
export const BASE_OCI = '/var/lib/peers/busybox-oci';

/** One timed process run. */
export interface Sample {
  /** Wall seconds. */
  wall: number;
  /** Peak RSS in MiB of the largest waited-for process (GNU time %M); NaN when unknown. */
  rssMiB: number;
}

/** Summary of one side of a case. */
export interface SideResult {
  tool: string;
  runs: number;
  median: number;
  min: number;
  max: number;
  rssMiB: number;
  samples: number[];
}

/** One case: its sides and the ratios of mybuild's median to each peer's. */
export interface CaseResult {
  case: string;
  sides: SideResult[];
  /** peer → mybuild median / peer median. */
  ratios: Record<string, number>;
  /** Targets as text, e.g. `{ buildkit: '<= 1.0x' }`, and whether they were met. */
  targets?: Record<string, { max: number; met: boolean }>;
  note?: string;
}

/** A side of a case: an untimed `prepare` (e.g. touch a file) before each timed `cmd`. */
export interface Side {
  tool: string;
  /** argv of the timed command. */
  cmd: () => string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  prepare?: (run: number) => void | Promise<void>;
}

/** Which tools are usable, with the reason when not. */
export interface ToolCheck {
  ok: boolean;
  reason?: string;
}

function which(cmd: string): boolean {
  return (process.env.PATH ?? '').split(':').some((d) => d && existsSync(path.join(d, cmd)));
}

/** Is buildah installed (and the peers' scripts present)? */
export function checkBuildah(): ToolCheck {
  if (!existsSync(path.join(peersDir, 'build-buildah.sh'))) return { ok: false, reason: `${peersDir}/build-buildah.sh is absent` };
  if (!which('buildah')) return { ok: false, reason: 'buildah is not installed (../shared/peers/setup.sh installs it)' };
  return { ok: true };
}

/** Is the private dockerd (BuildKit) usable? Starts it through peers/dockerd.sh when needed. */
export function checkBuildkit(): ToolCheck {
  if (!existsSync(path.join(peersDir, 'build-docker.sh'))) return { ok: false, reason: `${peersDir}/build-docker.sh is absent` };
  if (!existsSync('/usr/bin/docker') || !which('dockerd')) return { ok: false, reason: 'docker.io (dockerd 20.10) is not installed (../shared/peers/setup.sh installs it)' };
  const st = spawnSync('bash', [path.join(peersDir, 'dockerd.sh'), 'status'], { encoding: 'utf8' });
  if (st.status !== 0) {
    const start = spawnSync('bash', [path.join(peersDir, 'dockerd.sh'), 'start'], { encoding: 'utf8' });
    if (start.status !== 0) return { ok: false, reason: `the peers' dockerd does not start: ${(start.stderr || start.stdout).trim().split('\n').pop()}` };
  }
  return { ok: true };
}

/** Is `tool` on PATH? */
export function checkTool(tool: string, pkg = tool): ToolCheck {
  return which(tool) ? { ok: true } : { ok: false, reason: `${tool} is not installed (Debian package ${pkg})` };
}

/** Runs a command untimed; throws with its output when it fails. Returns stdout. */
export function sh(argv: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {}): string {
  const r = spawnSync(argv[0], argv.slice(1), { cwd: opts.cwd, env: { ...process.env, ...opts.env }, input: opts.input, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`bench: ${argv.join(' ')} failed (${r.status ?? r.signal}):\n${(r.stdout ?? '').slice(-2000)}${(r.stderr ?? '').slice(-2000)}`);
  return r.stdout;
}

let seq = 0;
/** Runs `argv` once under /usr/bin/time, returning wall time and peak RSS. Throws when it fails. */
export async function timeRun(argv: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Sample> {
  mkdirSync(benchTmp, { recursive: true });
  const tfile = path.join(benchTmp, `time-${process.pid}-${seq++}.txt`);
  const useTime = existsSync('/usr/bin/time');
  const full = useTime ? ['/usr/bin/time', '-f', '%M', '-o', tfile, ...argv] : argv;
  const t0 = process.hrtime.bigint();
  const { code, out } = await new Promise<{ code: number | null; out: string }>((resolve, reject) => {
    const child = spawn(full[0], full.slice(1), { cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const keep = (d: Buffer): void => {
      out += d.toString();
      if (out.length > 16384) out = out.slice(-8192);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', reject);
    child.on('close', (c) => resolve({ code: c, out }));
  });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  let rssMiB = Number.NaN;
  if (useTime && existsSync(tfile)) {
    const kb = Number(readFileSync(tfile, 'utf8').trim().split('\n').pop());
    if (Number.isFinite(kb)) rssMiB = kb / 1024;
    rmSync(tfile, { force: true });
  }
  if (code !== 0) throw new Error(`bench: ${argv.join(' ')} failed (exit ${code}):\n${out.slice(-3000)}`);
  return { wall, rssMiB };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Summarises samples of one side. */
export function summarize(tool: string, samples: Sample[]): SideResult {
  const walls = samples.map((s) => s.wall);
  const rss = samples.map((s) => s.rssMiB).filter((x) => Number.isFinite(x));
  return { tool, runs: samples.length, median: median(walls), min: Math.min(...walls), max: Math.max(...walls), rssMiB: rss.length ? Math.max(...rss) : Number.NaN, samples: walls };
}

/**
 * Runs a case: `warmup` untimed rounds then `runs` timed rounds, each round running every side
 * once in order (interleaved). A side whose command fails aborts the case (the error is
 * reported; other cases go on).
 */
export async function runCase(name: string, sides: Side[], opts: { runs: number; warmup?: number; targets?: Record<string, number>; note?: string }): Promise<CaseResult> {
  const samples = new Map<string, Sample[]>(sides.map((s) => [s.tool, []]));
  for (let r = 0; r < (opts.warmup ?? 0) + opts.runs; r++) {
    for (const s of sides) {
      await s.prepare?.(r);
      const sample = await timeRun(s.cmd(), { cwd: s.cwd, env: s.env });
      if (r >= (opts.warmup ?? 0)) samples.get(s.tool)!.push(sample);
    }
  }
  const results = sides.map((s) => summarize(s.tool, samples.get(s.tool)!));
  const mine = results.find((r) => r.tool === 'mybuild');
  const ratios: Record<string, number> = {};
  const targets: Record<string, { max: number; met: boolean }> = {};
  for (const r of results) {
    if (r.tool === 'mybuild' || !mine) continue;
    ratios[r.tool] = mine.median / r.median;
    const t = opts.targets?.[r.tool];
    if (t !== undefined) targets[r.tool] = { max: t, met: ratios[r.tool] <= t };
  }
  return { case: name, sides: results, ratios, ...(Object.keys(targets).length ? { targets } : {}), ...(opts.note ? { note: opts.note } : {}) };
}

const f3 = (x: number): string => (Number.isFinite(x) ? x.toFixed(3) : '-');

/** Prints a case as table rows. */
export function printCase(c: CaseResult): void {
  for (const s of c.sides) {
    const ratio = s.tool === 'mybuild' ? '' : `${f3(c.ratios[s.tool])}x`;
    const t = c.targets?.[s.tool];
    const target = t ? `<= ${t.max}x ${t.met ? 'met' : 'MISSED'}` : '';
    console.log(
      `${c.case.padEnd(34)} ${s.tool.padEnd(10)} median ${f3(s.median).padStart(7)} s  [${f3(s.min)}..${f3(s.max)}]  rss ${Number.isFinite(s.rssMiB) ? s.rssMiB.toFixed(0).padStart(4) : '   -'} MiB  ${ratio.padStart(7)} ${target}`,
    );
  }
  if (c.note) console.log(`${''.padEnd(34)} note: ${c.note}`);
}

/** Collects results of one bench and writes them (with machine and versions) to bench/results/<name>.json. */
export class Report {
  readonly cases: CaseResult[] = [];
  readonly skipped: { case: string; tool: string; reason: string }[] = [];
  readonly errors: { case: string; error: string }[] = [];
  constructor(readonly bench: string) {}

  add(c: CaseResult): void {
    this.cases.push(c);
    printCase(c);
  }

  skip(caseName: string, tool: string, reason: string): void {
    this.skipped.push({ case: caseName, tool, reason });
    console.log(`${caseName.padEnd(34)} ${tool.padEnd(10)} skipped: ${reason}`);
  }

  /** Runs `fn`, recording (not rethrowing) its failure. */
  async guard(caseName: string, fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      const msg = (err as Error).message ?? String(err);
      this.errors.push({ case: caseName, error: msg });
      console.log(`${caseName.padEnd(34)} ERROR: ${msg.split('\n').slice(0, 12).join('\n    ')}`);
    }
  }

  /**
   * Writes bench/results/<bench>.json; returns its path. With `keepOthers` (a run of only some
   * cases), the cases of the existing file that were not run again are kept, each stamped with
   * the date and load of the run it came from (`note`), and the re-run cases replace theirs.
   */
  write(opts: { keepOthers?: boolean } = {}): string {
    const dir = path.join(repoRoot, 'bench', 'results');
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `${this.bench}.json`);
    let cases = this.cases;
    if (opts.keepOthers && existsSync(file)) {
      try {
        const old = JSON.parse(readFileSync(file, 'utf8')) as { date?: string; machine?: { loadavg?: string }; cases?: CaseResult[] };
        const rerun = new Map(this.cases.map((c) => [c.case, c]));
        const stamp = `from the run of ${old.date ?? '?'} (load ${old.machine?.loadavg ?? '?'})`;
        // Old order kept, re-run cases in their old place, new ones at the end.
        cases = (old.cases ?? []).map((c) => rerun.get(c.case) ?? (c.note?.includes('from the run of') ? c : { ...c, note: c.note ? `${c.note}; ${stamp}` : stamp }));
        for (const c of this.cases) if (!cases.includes(c)) cases.push(c);
      } catch {
        // An unreadable old file: write only this run.
      }
    }
    writeFileSync(file, `${JSON.stringify({ bench: this.bench, date: new Date().toISOString(), machine: machine(), versions: versions(), cases, skipped: this.skipped, errors: this.errors }, null, 2)}\n`);
    console.log(`results: ${path.relative(process.cwd(), file)}`);
    return file;
  }
}

/** nproc, memory, kernel, load average. */
export function machine(): Record<string, string | number> {
  return { nproc: os.cpus().length, cpu: os.cpus()[0]?.model ?? '?', memGiB: Math.round(os.totalmem() / 2 ** 30), kernel: os.release(), loadavg: os.loadavg().map((x) => x.toFixed(2)).join(' ') };
}

function firstLine(argv: string[]): string {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8' });
  if (r.error || r.status !== 0) return 'absent';
  return `${r.stdout}${r.stderr}`.trim().split('\n')[0];
}

/** Versions of every tool the suite compares. */
export function versions(): Record<string, string> {
  return {
    node: process.version,
    buildah: firstLine(['buildah', '--version']),
    docker: firstLine(['/usr/bin/docker', 'version', '--format', 'client {{.Client.Version}}']),
    dockerd: firstLine(['dockerd', '--version']),
    skopeo: firstLine(['skopeo', '--version']),
    pigz: firstLine(['pigz', '--version']),
    runc: firstLine(['runc', '--version']),
  };
}

/** Number of timed runs: BENCH_RUNS or the bench's default. */
export function runsFor(def: number): number {
  const n = Number(process.env.BENCH_RUNS);
  return Number.isInteger(n) && n > 0 ? n : def;
}

/** A fresh mybuild store with the peers' busybox base loaded and tagged as {@link BASE_IMAGE}. */
export function makeStore(name: string, cli = cliPath): string {
  const root = path.join(benchTmp, `store-${name}`);
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  const base = existsSync(path.join(BASE_OCI, 'index.json')) ? BASE_OCI : undefined;
  if (!base) throw new Error(`bench: ${BASE_OCI} is absent (run ../shared/peers/setup.sh)`);
  sh([cli, '--root', root, 'load', '-i', base]);
  sh([cli, '--root', root, 'tag', 'latest:latest', BASE_IMAGE]);
  return root;
}

/** argv of a mybuild build into `root`. */
export function mybuildBuild(root: string, ctx: string, extra: string[] = [], dockerfile?: string, cli = cliPath): string[] {
  return [cli, '--root', root, 'build', '-q', ...(dockerfile ? ['-f', dockerfile] : []), ...extra, ctx];
}

/** argv of a buildah build through the peers' script (build only: EXPORT=0). */
export function buildahBuild(ctx: string, dockerfile = path.join(ctx, 'Dockerfile')): string[] {
  return ['bash', path.join(peersDir, 'build-buildah.sh'), dockerfile, ctx, path.join(benchTmp, 'peer-out', 'buildah')];
}

/** argv of a BuildKit build through the peers' script (build only: EXPORT=0). */
export function buildkitBuild(ctx: string, dockerfile = path.join(ctx, 'Dockerfile')): string[] {
  return ['bash', path.join(peersDir, 'build-docker.sh'), dockerfile, ctx, path.join(benchTmp, 'peer-out', 'buildkit')];
}

/** Env of a peer build: build only, quiet, tag under the bench's own names, NO_CACHE when cold. */
export function peerEnv(tool: 'buildah' | 'buildkit', tag: string, cold: boolean): NodeJS.ProcessEnv {
  const name = tool === 'buildah' ? `localhost/mybuild-bench:${tag}` : `mybuild-bench:${tag}`;
  return { EXPORT: '0', QUIET: '1', TAG: name, NO_CACHE: cold ? '1' : '0' };
}

/** Removes the images the bench tagged in the peers' stores (their layers stay as cache). */
export function cleanupPeerTags(tags: string[]): void {
  if (which('buildah')) {
    for (const t of tags) spawnSync('buildah', ['rmi', '-f', `localhost/mybuild-bench:${t}`], { env: { ...process.env, ...peerStorageEnv() }, stdio: 'ignore' });
  }
  if (existsSync('/usr/bin/docker')) {
    for (const t of tags) spawnSync('/usr/bin/docker', ['rmi', '-f', `mybuild-bench:${t}`], { env: { ...process.env, DOCKER_HOST: 'unix:///run/peers/docker.sock' }, stdio: 'ignore' });
  }
}

/** The containers/* env the peers' buildah uses (so `buildah rmi` sees its store). */
function peerStorageEnv(): NodeJS.ProcessEnv {
  const state = '/var/lib/peers/containers';
  return { CONTAINERS_REGISTRIES_CONF: `${state}/registries.conf`, CONTAINERS_STORAGE_CONF: `${state}/storage.conf`, CONTAINERS_CONF: `${state}/containers.conf` };
}

/** Writes files (path → content) under `dir`, creating directories. */
export function writeTree(dir: string, files: Record<string, string | Buffer>): void {
  for (const [rel, content] of Object.entries(files)) {
    const p = path.join(dir, rel);
    mkdirSync(path.dirname(p), { recursive: true });
    writeFileSync(p, content);
  }
}

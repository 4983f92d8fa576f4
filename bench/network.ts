/**
 * The cost of the default network (slirp4netns, issue 19) and of rootless mode against root with
 * `--network none`: 5 x `RUN true`, cold, interleaved. Sides: root --network none, root default
 * network, rootless --network none (as uid 65534, a one-id user namespace: src/cli/rootless.ts),
 * and rootless default when that user can open /dev/net/tun. Per-step cost in the note.
 *
 * Run: npm run bench -- network   (BENCH_RUNS=N)
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { BASE_IMAGE, BASE_OCI, Report, benchTmp, cliPath, makeStore, mybuildBuild, runCase, runsFor, writeTree, type Side } from './lib.js';

const report = new Report('network');
const runs = runsFor(5);
const root = makeStore('network');
const ctx = path.join(benchTmp, 'ctx-network');
rmSync(ctx, { recursive: true, force: true });
writeTree(ctx, { Dockerfile: `FROM ${BASE_IMAGE}\n${Array.from({ length: 5 }, (_, i) => `RUN echo ${i} > /s${i}`).join('\n')}\n` });
chmodSync(ctx, 0o755);

// Rootless: the bundled CLI and a store uid 65534 owns, loaded by that user.
const bin = path.join(benchTmp, 'bin-network');
rmSync(bin, { recursive: true, force: true });
mkdirSync(bin, { recursive: true, mode: 0o755 });
for (const f of readdirSync(path.dirname(cliPath))) copyFileSync(path.join(path.dirname(cliPath), f), path.join(bin, f));
for (const f of readdirSync(bin)) chmodSync(path.join(bin, f), 0o755);
const rlCli = path.join(bin, path.basename(cliPath));
const rlRoot = path.join(benchTmp, 'store-network-rootless');
rmSync(rlRoot, { recursive: true, force: true });
mkdirSync(rlRoot, { recursive: true });
spawnSync('chown', ['65534:65534', rlRoot]);
// The copied bin is the sh launcher (scripts/bundle-cli.mjs), executed directly.
const asNobody = (argv: string[]): string[] => ['setpriv', '--reuid', '65534', '--regid', '65534', '--clear-groups', '--', ...argv];
const sh = (argv: string[]) => {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', env: { PATH: process.env.PATH, HOME: rlRoot } });
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: ${r.stderr}`);
};
sh(asNobody([rlCli, '--root', rlRoot, 'load', '-i', BASE_OCI]));
sh(asNobody([rlCli, '--root', rlRoot, 'tag', 'latest:latest', BASE_IMAGE]));
const tunForNobody = spawnSync('setpriv', ['--reuid', '65534', '--regid', '65534', '--clear-groups', '--', 'sh', '-c', 'test -r /dev/net/tun && test -w /dev/net/tun']).status === 0;

const env = { PATH: process.env.PATH, HOME: rlRoot };
const sides: Side[] = [
  { tool: 'root-none', cmd: () => mybuildBuild(root, ctx, ['--no-cache', '--network', 'none']) },
  { tool: 'root-default', cmd: () => mybuildBuild(root, ctx, ['--no-cache']) },
  { tool: 'rootless-none', cmd: () => asNobody([rlCli, '--root', rlRoot, 'build', '-q', '--no-cache', '--network', 'none', ctx]), env },
];
if (tunForNobody) sides.push({ tool: 'rootless-default', cmd: () => asNobody([rlCli, '--root', rlRoot, 'build', '-q', '--no-cache', ctx]), env });
else report.skip('5 x RUN, cold', 'rootless-default', '/dev/net/tun is not open to uid 65534 here');

await report.guard('network', async () => {
  const c = await runCase('5 x RUN, cold', sides, { runs, warmup: 1 });
  const med = Object.fromEntries(c.sides.map((s) => [s.tool, s.median]));
  const base = med['root-none']!;
  c.note = c.sides.filter((s) => s.tool !== 'root-none').map((s) => `${s.tool} +${(((s.median - base) / 5) * 1000).toFixed(0)} ms per RUN vs root-none`).join(', ');
  report.add(c);
});

report.write();
if (report.errors.length) process.exitCode = 1;

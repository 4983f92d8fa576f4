/**
 * Multi-platform benchmarks (issue 18): the same Dockerfile built cold (--no-cache) for the host's
 * platform alone, for the foreign one alone (its RUN under QEMU user emulation, binfmt_misc) and
 * for both (`--platform linux/amd64,linux/arm64`: one image index; built concurrently, the
 * default, and one after the other, MYBUILD_PLATFORM_PARALLELISM=1), on the multi-platform
 * busybox base (scripts/make-busybox-multiarch.sh). The RUN does a little shell arithmetic, so
 * the emulation's cost shows. mybuild only: no peer is set up for multi-platform builds here.
 *
 * Run: npm run bench -- multi-platform   (BENCH_RUNS=N)
 */
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { Report, benchTmp, cliPath, mybuildBuild, repoRoot, runCase, runsFor, sh, writeTree, type Side } from './lib.js';

const report = new Report('multi-platform');
const host = process.arch === 'arm64' ? 'arm64' : 'amd64';
const other = host === 'amd64' ? 'arm64' : 'amd64';
const qemu = `/proc/sys/fs/binfmt_misc/qemu-${other === 'arm64' ? 'aarch64' : 'x86_64'}`;

if (!existsSync(qemu)) {
  report.skip('multi-platform', 'mybuild', `${qemu} is not registered (scripts/install-system-deps.sh)`);
} else {
  await report.guard('multi-platform', async () => {
    const layout = path.join(benchTmp, 'busybox-multiarch');
    if (!existsSync(path.join(layout, 'index.json'))) sh(['bash', path.join(repoRoot, 'scripts', 'make-busybox-multiarch.sh'), layout]);
    const root = path.join(benchTmp, 'store-multi-platform');
    rmSync(root, { recursive: true, force: true });
    mkdirSync(root, { recursive: true });
    sh([cliPath, '--root', root, 'load', '-i', layout]);
    sh([cliPath, '--root', root, 'tag', 'latest:latest', 'bench-multi:base']);
    const ctx = path.join(benchTmp, 'ctx-multi-platform');
    rmSync(ctx, { recursive: true, force: true });
    writeTree(ctx, { Dockerfile: 'FROM bench-multi:base\nRUN i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; uname -m > /arch\nRUN echo done > /done\n' });
    const runs = runsFor(3);
    const side = (platform: string): Side[] => [{ tool: 'mybuild', cmd: () => mybuildBuild(root, ctx, ['--no-cache', '--platform', platform, '-t', 'bench-multi:out']) }];
    const one = await runCase(`linux/${host} only (native), cold`, side(`linux/${host}`), { runs, warmup: 1 });
    report.add(one);
    const foreign = await runCase(`linux/${other} only (QEMU), cold`, side(`linux/${other}`), { runs, warmup: 1 });
    report.add(foreign);
    // The index built concurrently (one platform per core, the default) and one after the other.
    const both = await runCase('linux/amd64,linux/arm64 (index), cold', [
      ...side('linux/amd64,linux/arm64'),
      { tool: 'mybuild-sequential', cmd: side('linux/amd64,linux/arm64')[0].cmd, env: { MYBUILD_PLATFORM_PARALLELISM: '1' } },
    ], { runs, warmup: 1 });
    const m = (c: typeof one, tool = 'mybuild') => c.sides.find((s) => s.tool === tool)!.median;
    both.note = `two platforms / one native: ${(m(both) / m(one)).toFixed(2)}x; two platforms vs native + emulated alone: ${(m(both) / (m(one) + m(foreign))).toFixed(2)}x; concurrent vs one after the other: ${(m(both) / m(both, 'mybuild-sequential')).toFixed(2)}x`;
    report.add(both);
  });
}
report.write();
if (report.errors.length) process.exitCode = 1;

/**
 * Registry benchmarks: push and pull of a ~200 MB image (the 200 MB context COPY on busybox,
 * gzip layers) with mybuild against `skopeo copy` of the same image, interleaved, each run
 * against a FRESH docker-registry on 127.0.0.1 (nothing to skip or mount). Then a re-push of
 * the unchanged image (target < 0.3 s). Targets (issue 5): at most 1.0x skopeo's time.
 *
 * Run: npm run bench -- registry   (BENCH_RUNS=N)
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { registryMissing, startRegistry, type TestRegistry } from '../test/helpers/registry.js';
import { Report, benchTmp, checkTool, cliPath, makeStore, runCase, runsFor, sh, type Side } from './lib.js';

const report = new Report('registry');
const skopeo = checkTool('skopeo');
const ctx = process.env.BENCH_BIGCTX ?? '/var/lib/peers/bigctx';
const runs = runsFor(3);

if (registryMissing) {
  report.skip('registry', 'all', registryMissing);
} else {
  await report.guard('registry', async () => {
    const root = makeStore('registry');
    const mb = (...a: string[]): string[] => [cliPath, '--root', root, ...a];
    const layout = path.join(benchTmp, 'registry-oci');
    rmSync(layout, { recursive: true, force: true });
    sh(mb('build', '-q', '-t', 'big:1', '-o', `type=oci,dest=${layout},tar=false`, ctx));
    sh(mb('build', '-q', '-t', 'big:1', ctx));
    const regs: TestRegistry[] = [];
    const fresh = async (): Promise<TestRegistry> => {
      const r = await startRegistry('anonymous');
      regs.push(r);
      return r;
    };
    const stopAll = async (): Promise<void> => {
      for (const r of regs.splice(0)) await r.stop();
    };
    try {
      // Push: each side pushes into its own empty registry.
      let mine: TestRegistry | undefined;
      let theirs: TestRegistry | undefined;
      const push: Side[] = [
        {
          tool: 'mybuild',
          prepare: async () => {
            await stopAll();
            mine = await fresh();
            sh(mb('tag', 'big:1', `${mine.domain}/bench/big:1`));
          },
          cmd: () => mb('push', '-q', `${mine!.domain}/bench/big:1`),
        },
      ];
      if (skopeo.ok) {
        push.push({
          tool: 'skopeo',
          prepare: async () => {
            theirs = await fresh();
          },
          cmd: () => ['skopeo', 'copy', '-q', '--dest-tls-verify=false', `oci:${layout}`, `docker://${theirs!.domain}/bench/big:1`],
        });
      } else report.skip('push 200 MB', 'skopeo', skopeo.reason!);
      report.add(await runCase('push 200 MB image', push, { runs, warmup: 0, targets: { skopeo: 1.0 } }));

      // Re-push of the unchanged image into the registry that has it.
      const re = await runCase('re-push unchanged 200 MB image', [{ tool: 'mybuild', cmd: () => mb('push', '-q', `${mine!.domain}/bench/big:1`) }], { runs: runsFor(5), warmup: 1 });
      const met = re.sides[0].median < 0.3;
      re.note = `target < 0.3 s: ${met ? 'met' : 'MISSED'}`;
      report.add(re);

      // Pull: from the registry mybuild pushed to, into an empty store / an empty OCI dir.
      const src = `${mine!.domain}/bench/big:1`;
      const pullRoot = path.join(benchTmp, 'store-pull');
      const pullDir = path.join(benchTmp, 'pull-oci');
      const pull: Side[] = [
        {
          tool: 'mybuild',
          prepare: () => rmSync(pullRoot, { recursive: true, force: true }),
          cmd: () => [cliPath, '--root', pullRoot, 'pull', '-q', src],
        },
      ];
      if (skopeo.ok) pull.push({ tool: 'skopeo', prepare: () => rmSync(pullDir, { recursive: true, force: true }), cmd: () => ['skopeo', 'copy', '-q', '--src-tls-verify=false', `docker://${src}`, `oci:${pullDir}:latest`] });
      report.add(await runCase('pull 200 MB image', pull, { runs, warmup: 0, targets: { skopeo: 1.0 } }));
      rmSync(pullRoot, { recursive: true, force: true });
      rmSync(pullDir, { recursive: true, force: true });
    } finally {
      await stopAll();
    }
  });
}
report.write();
if (report.errors.length) process.exitCode = 1;

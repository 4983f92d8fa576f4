/**
 * Remote cache benchmark (issue 9): a multi-stage build on a FRESH store with
 * `--cache-from type=registry` (what an ephemeral CI runner does) against the same build on a
 * fresh store without it (cold) and against a rebuild in a warm local store, interleaved in the
 * same run. Targets: remote <= 1.5x warm local, <= 0.3x cold. Also reports the bytes the
 * exporting runner sent and an importing runner fetched (from --metadata-file).
 *
 * The project: a `deps` stage (11 MB of numbers, ~3 MB gzipped; 300 small files), a `build` stage that hashes a
 * 200-file context and stands in for a 2 s compiler (`sleep 2`), and a final stage copying
 * results from both. The cache is exported once (mode=max) to a docker-registry started here.
 *
 * Run: npm run bench -- remote-cache   (BENCH_RUNS=N)
 */
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { registryMissing, startRegistry } from '../test/helpers/registry.js';
import { BASE_IMAGE, Report, benchTmp, makeStore, mybuildBuild, runCase, runsFor, sh, writeTree, type Side } from './lib.js';

const report = new Report('remote-cache');
const runs = runsFor(3);

const DOCKERFILE = `FROM ${BASE_IMAGE} AS deps
RUN seq 1 1500000 > /deps.bin
RUN mkdir /vendor && for i in $(seq 1 300); do echo "module $i" > /vendor/m$i.txt; done
FROM ${BASE_IMAGE} AS build
COPY --from=deps /vendor /vendor
COPY src/ /src/
RUN cd /src && sha256sum * > /sums.txt && sleep 2
FROM ${BASE_IMAGE}
COPY --from=deps /deps.bin /opt/deps.bin
COPY --from=build /sums.txt /app/sums.txt
RUN ls -l /opt /app > /app/manifest.txt
`;

function metadata(file: string): { imports: { layerBytes: number; metadataBytes: number; layers: number }[]; exports: { bytesSent: number; records: number }[] } {
  const md = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  return md['mybuild.remoteCache'] as ReturnType<typeof metadata>;
}

if (registryMissing) {
  report.skip('remote-cache', 'all', registryMissing);
} else {
  await report.guard('multi-stage: fresh store + --cache-from', async () => {
    const registry = await startRegistry('anonymous');
    try {
      const ctx = path.join(benchTmp, 'remote-cache-ctx');
      rmSync(ctx, { recursive: true, force: true });
      const files: Record<string, string> = { Dockerfile: DOCKERFILE };
      for (let i = 0; i < 200; i++) files[`src/f${i}.c`] = `int f${i}(void) { return ${i}; }\n`.repeat(20);
      writeTree(ctx, files);
      const ref = `${registry.domain}/bench/app:cache`;
      const env = { SOURCE_DATE_EPOCH: '1700000000' };

      // Runner A: builds cold and exports the cache (mode=max). Its store is then the warm local one.
      const warmRoot = makeStore('remote-cache-warm');
      const seedMeta = path.join(benchTmp, 'remote-cache-seed.json');
      sh(mybuildBuild(warmRoot, ctx, ['--cache-to', `type=registry,ref=${ref},mode=max`, '--metadata-file', seedMeta]), { env });
      const sent = metadata(seedMeta).exports[0];

      let coldRoot = '';
      let remoteRoot = '';
      const importMeta = path.join(benchTmp, 'remote-cache-import.json');
      const sides: Side[] = [
        { tool: 'mybuild', prepare: () => void (remoteRoot = makeStore('remote-cache-fresh')), cmd: () => mybuildBuild(remoteRoot, ctx, ['--cache-from', ref, '--metadata-file', importMeta]), env },
        { tool: 'cold', prepare: () => void (coldRoot = makeStore('remote-cache-cold')), cmd: () => mybuildBuild(coldRoot, ctx), env },
        { tool: 'warm-local', cmd: () => mybuildBuild(warmRoot, ctx), env },
      ];
      const c = await runCase('multi-stage: fresh store + --cache-from', sides, { runs, targets: { cold: 0.3, 'warm-local': 1.5 } });
      const imp = metadata(importMeta).imports[0];
      c.note = `export (mode=max): ${sent.records} records, ${(sent.bytesSent / 2 ** 20).toFixed(2)} MiB sent; import: ${imp.layers} layers ${(imp.layerBytes / 2 ** 20).toFixed(2)} MiB + ${(imp.metadataBytes / 1024).toFixed(1)} KiB manifest/config fetched`;
      report.add(c);
      console.log(c.note);
    } finally {
      await registry.stop();
    }
  });
}
report.write();

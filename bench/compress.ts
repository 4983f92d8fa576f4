/**
 * Compression of a 1 GiB layer: `mybuild import` of a 1 GiB tar (tar → diffId sha256 → parallel
 * gzip level 6 → digest sha256 → content store, the path every layer takes) against `pigz -6`
 * on the same tar (compression only, to a file on the same disk), interleaved. Also reports the
 * peak RSS of mybuild (target < 200 MB) and the CPU use (user+sys / wall: > 1 means both cores).
 * Targets (issue 8): within 1.2x of pigz; peak memory under 200 MB.
 *
 * The tar holds real files: regular files under /usr, in sorted order, until 1 GiB (a mix of
 * binaries and text, like real layers). BENCH_LAYER_MB changes the size.
 *
 * Run: npm run bench -- compress   (BENCH_RUNS=N)
 */
import { existsSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { Report, benchTmp, checkTool, cliPath, runCase, runsFor, sh } from './lib.js';

const report = new Report('compress');
const mb = Number(process.env.BENCH_LAYER_MB ?? 1024);
const tarFile = path.join(benchTmp, `layer-${mb}m.tar`);
const caseName = `${mb} MiB layer, gzip -6`;

if (!existsSync(tarFile)) {
  console.log(`making ${tarFile} from files under /usr …`);
  sh([
    'python3',
    '-c',
    `
import os, sys, tarfile
limit = int(sys.argv[2]) << 20
total = 0
with tarfile.open(sys.argv[1] + '.tmp', 'w', format=tarfile.PAX_FORMAT) as t:
    for root, dirs, files in os.walk('/usr'):
        dirs.sort()
        for f in sorted(files):
            p = os.path.join(root, f)
            if not os.path.isfile(p) or os.path.islink(p):
                continue
            try:
                ti = t.gettarinfo(p, arcname=p[1:])
                ti.uname = ti.gname = ''
                with open(p, 'rb') as fh:
                    t.addfile(ti, fh)
            except OSError:
                continue
            total += ti.size
            if total >= limit:
                break
        if total >= limit:
            break
os.rename(sys.argv[1] + '.tmp', sys.argv[1])
`,
    tarFile,
    String(mb),
  ]);
}
console.log(`layer: ${(statSync(tarFile).size / 2 ** 20).toFixed(0)} MiB tar`);

const root = path.join(benchTmp, 'store-compress');
const pigzOut = path.join(benchTmp, 'pigz-out.gz');
const pigz = checkTool('pigz');
await report.guard(caseName, async () => {
  const sides = [
    {
      tool: 'mybuild',
      // A fresh store each run: the layer is compressed and stored every time.
      prepare: () => rmSync(root, { recursive: true, force: true }),
      cmd: () => [cliPath, '--root', root, 'import', tarFile, 'bench:layer'],
    },
  ];
  if (pigz.ok) sides.push({ tool: 'pigz', prepare: () => rmSync(pigzOut, { force: true }), cmd: () => ['sh', '-c', `pigz -6 -c "$0" > "$1"`, tarFile, pigzOut] });
  else report.skip(caseName, 'pigz', pigz.reason!);
  const c = await runCase(caseName, sides, { runs: runsFor(3), warmup: 0, targets: { pigz: 1.2 } });
  const mine = c.sides.find((s) => s.tool === 'mybuild')!;
  const memMet = mine.rssMiB * 1.048576 < 200;
  c.note = `mybuild peak RSS ${mine.rssMiB.toFixed(0)} MiB (target < 200 MB: ${memMet ? 'met' : 'MISSED'}); throughput ${(statSync(tarFile).size / 2 ** 20 / mine.median).toFixed(0)} MiB/s`;
  report.add(c);
  if (existsSync(pigzOut)) {
    const ours = sh(['sh', '-c', `find "$0" -path '*blobs/sha256/*' -size +1M -exec stat -c %s {} +`, root]).trim().split('\n').map(Number);
    console.log(`compressed sizes: mybuild ${(Math.max(...ours) / 2 ** 20).toFixed(1)} MiB, pigz ${(statSync(pigzOut).size / 2 ** 20).toFixed(1)} MiB`);
  }
});
report.write();
rmSync(root, { recursive: true, force: true });
rmSync(pigzOut, { force: true });
if (report.errors.length) process.exitCode = 1;

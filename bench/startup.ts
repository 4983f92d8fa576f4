/**
 * CLI start-up: `mybuild version`, `mybuild images` (loads the store) and a warm no-op build's
 * floor, against bare `node -e 0` (the runtime's own start-up, the floor for any Node CLI),
 * interleaved. No target; it shows how much of a warm no-op build is process start.
 *
 * Run: npm run bench -- startup   (BENCH_RUNS=N)
 */
import { Report, cliPath, makeStore, runCase, runsFor } from './lib.js';

const report = new Report('startup');
const root = makeStore('startup');
await report.guard('startup', async () => {
  const runs = runsFor(15);
  report.add(
    await runCase(
      'mybuild version vs node -e 0',
      [
        { tool: 'mybuild', cmd: () => [cliPath, 'version'] },
        { tool: 'node', cmd: () => [process.execPath, '-e', '0'] },
      ],
      { runs, warmup: 2 },
    ),
  );
  report.add(
    await runCase(
      'mybuild images vs node -e 0',
      [
        { tool: 'mybuild', cmd: () => [cliPath, '--root', root, 'images'] },
        { tool: 'node', cmd: () => [process.execPath, '-e', '0'] },
      ],
      { runs, warmup: 2 },
    ),
  );
});
report.write();
if (report.errors.length) process.exitCode = 1;

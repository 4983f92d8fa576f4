/**
 * bench/daemon.ts: a warm (fully cached) build through the daemon against the daemonless CLI,
 * in the same run: RUNS builds each, median wall time, and the ratio daemon/daemonless
 * (target <= 0.5x: the daemon saves the process start and store/runtime setup).
 *
 *   npm run build && node --import tsx bench/daemon.ts [RUNS]
 *
 * Daemonless: `dist/bin/mybuild --root R build -q CTX` (a new process per build). Through
 * the daemon: the docker CLI (`DOCKER_BUILDKIT=0 docker build -q`) when installed, else one
 * POST /build from this process with the context tar. Needs root (RUN steps use runc).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { startDaemon } from '../src/daemon/server.js';
import { DaemonClient } from '../src/client/client.js';
import { BuildContext } from '../src/context/context.js';
import { packContext } from '../src/context/tar-context.js';
import { cliPath as cli, repoRoot as repo } from './lib.js';

const run = promisify(execFile);
const RUNS = Number(process.argv[2] ?? 5);
const dockerBin = '/usr/local/bin/docker';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function time(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

async function main(): Promise<void> {
  if (!existsSync(cli)) throw new Error('run "npm run build" first (dist/bin/mybuild is missing)');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bench-daemon-'));
  const root = path.join(dir, 'root');
  const base = path.join(dir, 'base');
  await run('bash', [path.join(repo, 'scripts', 'make-busybox-base.sh'), base]);
  await run(cli, ['--root', root, 'load', '-i', base]);
  await run(cli, ['--root', root, 'tag', 'latest:latest', 'busybox:latest']);
  const ctx = path.join(dir, 'ctx');
  await mkdir(ctx);
  await writeFile(path.join(ctx, 'Dockerfile'), 'FROM busybox\nRUN echo one > /one\nCOPY . /src/\nRUN ls /src > /listing\nENV A=1\n');
  for (let i = 0; i < 50; i++) await writeFile(path.join(ctx, `f${i}.txt`), `file ${i}\n`.repeat(100));

  const socket = path.join(dir, 'd.sock');
  const daemon = await startDaemon({ root, hosts: [`unix://${socket}`], log: () => undefined });
  const client = new DaemonClient(`unix://${socket}`);
  const viaDocker = existsSync(dockerBin);
  const daemonBuild = viaDocker
    ? () => run(dockerBin, ['build', '-q', ctx], { env: { ...process.env, DOCKER_HOST: `unix://${socket}`, DOCKER_BUILDKIT: '0', DOCKER_CONFIG: path.join(dir, 'dc') } })
    : async () => {
        const res = await client.request('POST', '/build', { query: { q: '1' }, body: packContext(await BuildContext.open(ctx)) });
        await client.stream(res, () => undefined);
      };
  const localBuild = () => run(cli, ['--root', root, 'build', '-q', ctx], { env: { ...process.env, MYBUILD_HOST: '' } });
  try {
    await localBuild(); // warm the cache
    await daemonBuild();
    const local: number[] = [];
    const remote: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      local.push(await time(localBuild));
      remote.push(await time(daemonBuild));
    }
    const l = median(local);
    const r = median(remote);
    console.log(`warm build, ${RUNS} runs each (median):`);
    console.log(`  daemonless CLI:            ${l.toFixed(0)} ms`);
    console.log(`  through the daemon (${viaDocker ? 'docker CLI' : 'HTTP client'}): ${r.toFixed(0)} ms`);
    console.log(`  ratio daemon/daemonless:   ${(r / l).toFixed(2)}x (target <= 0.5x)`);
  } finally {
    await daemon.close();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();

/**
 * Shared set-up for container tests: skip reason (root, runc, the busybox base), a temp store
 * with `busybox:latest` loaded and `epimg` built (ENTRYPOINT ["echo","ep"], CMD ["default"]),
 * leftover checks, and a way to spawn the CLI as its own process (tsx from src, node from dist).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveRuntime } from '../../src/runtime/executor.js';
import { baseImageSkipReason, ensureBaseImage } from '../helpers/base-image.js';
import { runCli } from '../helpers/cli.js';
import { cliPath, repoRoot } from '../helpers/paths.js';

/** Why container tests cannot run here, or false. */
export const skipReason: string | false =
  process.getuid?.() !== 0
    ? 'needs root (overlay mounts, runc)'
    : (baseImageSkipReason() ||
      (await resolveRuntime('runc').then(
        () => false as const,
        () => 'runc is not installed (scripts/install-system-deps.sh)',
      )));

/** A fresh store root with busybox:latest and epimg. */
export async function makeRoot(): Promise<string> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'mybuild-ct-'));
  const layout = await ensureBaseImage();
  let r = await runCli(['--root', root, 'load', '-i', layout]);
  assert.equal(r.code, 0, r.err);
  r = await runCli(['--root', root, 'tag', 'latest:latest', 'busybox:latest']);
  assert.equal(r.code, 0, r.err);
  const ctx = path.join(root, 'ctx');
  await mkdir(ctx);
  await writeFile(path.join(ctx, 'Dockerfile'), 'FROM busybox\nENTRYPOINT ["echo","ep"]\nCMD ["default"]\n');
  r = await runCli(['--root', root, 'build', '-q', '-t', 'epimg', ctx]);
  assert.equal(r.code, 0, r.err);
  return root;
}

/** Asserts nothing of containers is left under `root`: mounts, container dirs, active snapshots, runc state. */
export async function assertNoLeftovers(root: string): Promise<void> {
  const mounts = (await readFile('/proc/self/mountinfo', 'utf8')).split('\n').filter((l) => l.includes(root));
  assert.deepEqual(mounts, [], 'mounts left under the root');
  const dirs = (await readdir(path.join(root, 'containers')).catch(() => [] as string[])).filter((d) => d !== 'names');
  assert.deepEqual(dirs, [], 'container directories left');
  assert.deepEqual(await readdir(path.join(root, 'containers', 'names')).catch(() => []), [], 'names left');
  for (const kind of ['overlay', 'native']) {
    const meta = path.join(root, 'snapshots', kind, 'meta');
    if (!existsSync(meta)) continue;
    for (const f of await readdir(meta)) {
      const m = JSON.parse(await readFile(path.join(meta, f), 'utf8')) as { kind: string; name: string };
      assert.equal(m.kind, 'committed', `active snapshot ${m.name} left`);
    }
  }
}

/** Spawns `mybuild --root root ARGS…` as its own process (src via tsx, or the compiled dist). */
export function spawnCli(root: string, args: string[]): ChildProcess {
  const fromSrc = fileURLToPath(import.meta.url).endsWith('.ts');
  const argv = fromSrc ? ['--import', 'tsx', path.join(repoRoot, 'src', 'main.ts')] : [cliPath];
  return spawn(process.execPath, [...argv, '--root', root, ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Collects a child's output and exit code. */
export function collect(child: ChildProcess): { out: () => string; err: () => string; exit: Promise<number | null> } {
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { out: () => out, err: () => err, exit };
}

/** Polls `fn` every 100 ms until it returns true (fails after `ms`). */
export async function until(fn: () => Promise<boolean> | boolean, ms = 15_000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

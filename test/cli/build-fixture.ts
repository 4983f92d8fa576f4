/**
 * A store with the busybox base (tagged `busybox:latest`) for CLI build tests, and context
 * directories to build. `buildSkipReason()` says why real builds cannot run here (not root,
 * no runc, no busybox), for `{ skip }`.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveRuntime } from '../../src/runtime/executor.js';
import { baseImageSkipReason, ensureBaseImage } from '../helpers/base-image.js';
import { runCli } from '../helpers/cli.js';
import { cliPath, repoRoot } from '../helpers/paths.js';

/** Why builds with RUN cannot run here, or false. */
export async function buildSkipReason(): Promise<string | false> {
  if (process.getuid?.() !== 0) return 'needs root (RUN steps use mounts and runc)';
  const base = baseImageSkipReason();
  if (base) return base;
  return resolveRuntime('runc').then(
    () => false as const,
    () => 'runc is not installed (scripts/install-system-deps.sh)',
  );
}

/** A fresh store root with busybox:latest; remove with `rm(root)`. */
export async function storeWithBase(): Promise<string> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'mybuild-cli-'));
  const layout = await ensureBaseImage();
  for (const argv of [['load', '-i', layout], ['tag', 'latest:latest', 'busybox:latest']]) {
    const r = await runCli(['--root', root, ...argv]);
    if (r.code !== 0) throw new Error(`mybuild ${argv.join(' ')} failed: ${r.err}`);
  }
  return root;
}

/** Writes `files` (path → content) into a new temp dir and returns it. */
export async function makeContext(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mybuild-ctx-'));
  await writeContext(dir, files);
  return dir;
}

export async function writeContext(dir: string, files: Record<string, string>): Promise<void> {
  for (const [rel, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
    await writeFile(path.join(dir, rel), content);
  }
}

export async function removeAll(...dirs: (string | undefined)[]): Promise<void> {
  for (const d of dirs) if (d) await rm(d, { recursive: true, force: true });
}

/**
 * The argv prefix that runs the CLI as a separate process: the compiled CLI when the tests run
 * from dist/, else src/cli.ts through tsx.
 */
export function cliCommand(): string[] {
  const compiled = fileURLToPath(import.meta.url).includes(`${path.sep}dist${path.sep}`);
  return compiled ? [process.execPath, cliPath] : [process.execPath, '--import', path.join(repoRoot, 'node_modules', 'tsx', 'dist', 'esm', 'index.mjs'), path.join(repoRoot, 'src', 'main.ts')];
}

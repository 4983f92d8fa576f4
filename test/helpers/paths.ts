/**
 * Paths for tests: the repository root (works from src via tsx and from dist), the fixtures,
 * and `../shared` (conformance data; tests skip with a clear message where it is absent).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

function findRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('package.json not found above the test helpers');
    dir = up;
  }
  return dir;
}

export const repoRoot = findRoot();
export const fixturesDir = path.join(repoRoot, 'fixtures');
/** `../shared` beside the checkout, or MYBUILD_SHARED. */
export const sharedDir = process.env.MYBUILD_SHARED ?? path.resolve(repoRoot, '..', 'shared');

/** The path of `rel` under ../shared, or a skip reason when it is absent. */
export function sharedPath(rel: string): { path: string; skip: false } | { path: string; skip: string } {
  const p = path.join(sharedDir, rel);
  return existsSync(p) ? { path: p, skip: false } : { path: p, skip: `${p} is absent (the shared conformance data lives beside the checkout)` };
}

/** The compiled CLI's loader, run with node (tests that spawn mybuild use it after `npm run build`). */
export const cliPath = path.join(repoRoot, 'dist', 'bin', 'mybuild.cjs');
/** The package's bin: the sh launcher in front of {@link cliPath}, executed directly. */
export const binPath = path.join(repoRoot, 'dist', 'bin', 'mybuild');

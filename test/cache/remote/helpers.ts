/** Shared bits of the remote cache tests: a multi-stage project and blob-GET counting. */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cliPath, repoRoot } from '../../helpers/paths.js';
import type { BuildEvent } from '../../../src/builder/events.js';
import type { InProcessBuild } from '../../helpers/build.js';

export const SDE = 1700000000;

/** A multi-stage Dockerfile: an intermediate stage (`build`) whose filesystem the final image does not need. */
export const DOCKERFILE = [
  'FROM busybox AS base',
  'RUN echo base > /base.txt',
  'FROM base AS build',
  'WORKDIR /src',
  'COPY a.txt b.txt ./',
  'RUN cat a.txt b.txt > out.txt',
  'FROM busybox',
  'COPY --from=build /src/out.txt /out.txt',
  'COPY c.txt /c.txt',
  'RUN cat /out.txt /c.txt > /all.txt',
].join('\n');

export function project(b = 'b\n', c = 'c\n'): Record<string, string> {
  return { Dockerfile: DOCKERFILE, 'a.txt': 'a\n', 'b.txt': b, 'c.txt': c };
}

/** Step numbers by instruction text (first match). */
export function stepOf(r: InProcessBuild, instruction: string): number {
  const e = r.events.find((x): x is Extract<BuildEvent, { type: 'build-start' }> => x.type === 'build-start');
  const s = e?.steps.find((x) => x.instruction === instruction);
  if (!s) throw new Error(`no step "${instruction}"`);
  return s.step;
}

/** The `source` of each cache hit, by step. */
export function hitSources(r: InProcessBuild): Map<number, string | undefined> {
  const m = new Map<number, string | undefined>();
  for (const e of r.events) if (e.type === 'step-cache' && e.hit) m.set(e.step, e.source);
  return m;
}

export function warnings(r: InProcessBuild): string[] {
  return r.events.filter((e): e is Extract<BuildEvent, { type: 'warning' }> => e.type === 'warning').map((e) => e.message);
}

/** Digests of blobs fetched with GET through the proxy (its log). */
export function blobGets(log: { method: string; url: string }[]): string[] {
  return log.filter((l) => l.method === 'GET' && /\/blobs\/sha256:/.test(l.url)).map((l) => /(sha256:[a-f0-9]{64})/.exec(l.url)![1]);
}

/**
 * Runs `mybuild --root ROOT build …` in its own process (as a separate CI runner would):
 * the compiled CLI when the tests run from dist/, else src/cli.ts through tsx.
 */
export function spawnBuild(root: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const fromSource = fileURLToPath(import.meta.url).endsWith('.ts');
  const cli = fromSource ? path.join(repoRoot, 'src', 'main.ts') : cliPath;
  const node = fromSource ? ['--import', 'tsx', cli] : [cli];
  return new Promise((resolve, reject) => {
    const clean: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('MYBUILD_') && k !== 'DOCKER_CONFIG') clean[k] = v;
    const child = spawn(process.execPath, [...node, '--root', root, 'build', '--progress', 'plain', ...args], { cwd: repoRoot, env: { ...clean, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

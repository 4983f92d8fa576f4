/** Shared bits of the remote cache tests: a multi-stage project and blob-GET counting. */
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

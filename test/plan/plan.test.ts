import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { assertPlanError, ast } from './helpers.js';
import { buildPlan, type PlanOptions } from '../../src/plan/plan.js';
import { BuildError } from '../../src/errors.js';

const amd64 = { os: 'linux', architecture: 'amd64' };
const armv7 = { os: 'linux', architecture: 'arm', variant: 'v7' };

function plan(text: string, opts: PlanOptions = {}) {
  return buildPlan(ast(text), { buildPlatform: amd64, text, ...opts });
}

describe('buildPlan: stages and graph', () => {
  const df = [
    'ARG BASE=alpine:3.19',
    'FROM ${BASE} AS Base',
    'RUN echo base',
    'FROM base AS build',
    'RUN make',
    'FROM scratch AS docs',
    'COPY README /',
    'FROM busybox AS test',
    'COPY --from=build /out /out',
    'FROM scratch',
    'COPY --from=build /bin/app /app',
    'COPY --from=0 /etc/os-release /',
    'COPY --from=nginx:latest /etc/nginx /etc/nginx',
    'RUN --mount=from=docs,target=/docs true',
    '',
  ].join('\n');

  it('bases, names (lower-cased), deps, external images', () => {
    const p = plan(df);
    assert.equal(p.stages.length, 5);
    assert.deepEqual(p.stages.map((s) => s.name), ['base', 'build', 'docs', 'test', undefined]);
    assert.deepEqual(p.stages.map((s) => s.base), [
      { kind: 'image', ref: 'alpine:3.19' },
      { kind: 'stage', index: 0 },
      { kind: 'scratch' },
      { kind: 'image', ref: 'busybox' },
      { kind: 'scratch' },
    ]);
    assert.deepEqual(p.stages.map((s) => s.deps), [[], [0], [], [1], [0, 1, 2]]);
    assert.deepEqual(p.stages[4]!.externalImages, ['nginx:latest']);
    assert.equal(p.target, 4);
    assert.deepEqual(p.order, [0, 1, 2, 4]);
    assert.equal(p.stages[1]!.commands.length, 1);
    assert.equal(p.stages[1]!.fromNode.range.start.line, 4);
  });

  it('stores what each --from and from= names on the command (resolved once, here)', () => {
    const last = plan(df).stages[4]!.commands;
    const sources = last.map((c) => (c.kind === 'COPY' ? c.source : c.kind === 'RUN' ? c.mountSources : undefined));
    assert.deepEqual(sources, [
      { kind: 'stage', index: 1 },
      { kind: 'stage', index: 0 },
      { kind: 'image', ref: 'nginx:latest' },
      { docs: { kind: 'stage', index: 2 } },
    ]);
  });

  it('refuses a variable in --from, even one an ARG defines (BuildKit)', () => {
    const msg = 'variable expansion is not supported for --from, define a new stage with FROM using ARG from global scope as a workaround';
    assertPlanError(() => plan('FROM scratch AS one\nFROM scratch\nARG SRC=one\nCOPY --from=$SRC /a /a\n'), msg, '4:6');
    assertPlanError(() => plan('FROM scratch\nCOPY --from=${FOO} . .\n'), msg, '2:6');
  });

  it('--target selects a stage (case-insensitive) and only what it needs', () => {
    const p = plan(df, { target: 'TEST' });
    assert.equal(p.target, 3);
    assert.deepEqual(p.order, [0, 1, 3]);
  });

  it('unknown --target: did you mean in the message (as BuildKit), the stages in the hint', () => {
    let err: unknown;
    try {
      plan(df, { target: 'buld' });
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof BuildError && err.code === 'PLAN');
    assert.equal(err.message, 'target stage "buld" could not be found (did you mean build?)');
    assert.match(err.hint ?? '', /base, build, docs, test/);
  });

  it('TARGETSTAGE: the --target, else the last stage\'s name, else "default"', () => {
    assert.equal(plan('FROM scratch AS Foo\nFROM scratch\n', { target: 'FOO' }).globalArgs.get('TARGETSTAGE'), 'foo');
    assert.equal(plan('FROM scratch AS foo\nFROM scratch\n').globalArgs.get('TARGETSTAGE'), 'default');
    assert.equal(plan('FROM scratch AS foo\nFROM scratch AS final\n').predefinedArgs.get('TARGETSTAGE'), 'final');
  });

  it('duplicate stage names (case-insensitive)', () => {
    assertPlanError(() => plan('FROM a AS x\nFROM b AS X\n'), 'duplicate stage name "x"', '2:11');
  });

  it('COPY --from a later stage', () => {
    assertPlanError(() => plan('FROM a AS one\nCOPY --from=two /a /b\nFROM b AS two\n'), /refers to stage "two" \(1\), which is defined after this stage/, '2:6');
  });

  it('COPY --from itself (by name and index)', () => {
    assertPlanError(() => plan('FROM a AS one\nCOPY --from=one /a /b\n'), /refers to the stage it is in/, '2:6');
    assertPlanError(() => plan('FROM a\nFROM b\nCOPY --from=1 /a /b\n'), /refers to the stage it is in/, '3:6');
  });

  it('COPY --from index out of range', () => {
    assertPlanError(() => plan('FROM a\nCOPY --from=5 /a /b\n'), /index out of bounds/, '2:6');
  });

  it('COPY --from of a global ARG\'s stage alias', () => {
    const p = plan('ARG SRC=a\nFROM ${SRC} AS src\nFROM b\nCOPY --from=src /a /b\n');
    assert.deepEqual(p.stages[1]!.deps, [0]);
  });

  it('FROM naming a later stage is an image', () => {
    const p = plan('FROM later\nFROM x AS later\n');
    assert.deepEqual(p.stages[0]!.base, { kind: 'image', ref: 'later' });
  });

  it('a syntax directive naming another frontend is refused at the directive', () => {
    assertPlanError(() => plan('#syntax=foobar\nFROM a\n'), /unsupported frontend in syntax directive: "foobar"/, '1:1');
    assertPlanError(() => plan('# syntax=example.com/my/frontend:1\nFROM a\n'), /unsupported frontend/, '1:1');
    for (const ok of ['docker/dockerfile:1', 'docker/dockerfile', 'docker.io/docker/dockerfile:1.7-labs', 'docker/dockerfile-upstream:master', `docker/dockerfile:1@sha256:${'a'.repeat(64)}`]) {
      assert.equal(plan(`# syntax=${ok}\nFROM a\n`).stages.length, 1, ok);
    }
  });

  it('commands before FROM', () => {
    assertPlanError(() => plan('RUN x\nFROM a\n'), 'no build stage in current context', '1:1');
  });

  it('no FROM at all', () => {
    assert.throws(() => plan('ARG X=1\n'), (e: unknown) => e instanceof BuildError && e.code === 'PLAN' && /no FROM/.test(e.message));
  });

  it('errors of instructions come with their range', () => {
    assertPlanError(() => plan('FROM a\nWORKDIR\n'), 'WORKDIR requires exactly one argument', '2:1');
  });
});

describe('buildPlan: ARGs', () => {
  it('global ARG in FROM, overridden by --build-arg', () => {
    const df = 'ARG TAG=3.19\nARG IMG=alpine:${TAG}\nFROM $IMG\n';
    assert.deepEqual(plan(df).stages[0]!.base, { kind: 'image', ref: 'alpine:3.19' });
    assert.deepEqual(plan(df, { buildArgs: { TAG: '3.20' } }).stages[0]!.base, { kind: 'image', ref: 'alpine:3.20' });
    assert.deepEqual(plan(df, { buildArgs: { IMG: 'debian' } }).stages[0]!.base, { kind: 'image', ref: 'debian' });
  });

  it('a build arg without a global ARG does not reach FROM', () => {
    assertPlanError(() => plan('FROM ${BASE}\n', { buildArgs: { BASE: 'alpine' } }), /base name \(\$\{BASE\}\) should not be blank/, '1:6');
  });

  it('FROM --platform and predefined args', () => {
    const p = plan('FROM --platform=$BUILDPLATFORM golang AS b\nFROM --platform=${TARGETOS}/${TARGETARCH} alpine\n', { platform: armv7 });
    assert.equal(p.stages[0]!.platform, 'linux/amd64');
    assert.equal(p.stages[1]!.platform, 'linux/arm');
    assert.equal(p.predefinedArgs.get('TARGETPLATFORM'), 'linux/arm/v7');
    assert.equal(p.predefinedArgs.get('TARGETVARIANT'), 'v7');
    assert.equal(p.predefinedArgs.get('BUILDARCH'), 'amd64');
    assert.equal(p.predefinedArgs.get('BUILDVARIANT'), '');
  });

  it('global args are in plan.globalArgs (declared without value: undefined)', () => {
    const p = plan('ARG A=1\nARG B\nFROM x\n');
    assert.equal(p.globalArgs.get('A'), '1');
    assert.ok(p.globalArgs.has('B'));
    assert.equal(p.globalArgs.get('B'), undefined);
  });

  it('unused build args are reported, consumed ones (global, stage, proxy) are not', () => {
    const p = plan('ARG G\nFROM x\nARG S\nFROM y AS other\nARG O\n', { buildArgs: { G: '1', S: '2', O: '3', ZZ: '4', AA: '5', HTTP_PROXY: 'p' } });
    // Stage "other" is the target (last), so stage 0's S is not consumed.
    assert.deepEqual(p.warnings, ['[Warning] One or more build-args [AA S ZZ] were not consumed']);
    const q = plan('ARG G\nFROM x\nARG S\n', { buildArgs: { G: '1', S: '2' } });
    assert.deepEqual(q.warnings, []);
  });
});

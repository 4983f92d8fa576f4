import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { assertPlanError, command } from './helpers.js';
import { expandCommand } from '../../src/plan/expand.js';
import { ShellLex } from '../../src/plan/shell-lex.js';

const lex = new ShellLex();
const env = new Map(Object.entries({ A: 'a', DIR: '/app', USERNAME: 'me', P: '80 443/udp', SIG: 'SIGINT', S: 'build', EMPTY: '' }));

function expand(line: string) {
  return expandCommand(command(line), lex, env, { text: `FROM scratch\n${line}\n` });
}

function pick(obj: object, want: object): Record<string, unknown> {
  const o = obj as Record<string, unknown>;
  return Object.fromEntries(Object.keys(want).map((k) => [k, o[k]]));
}

describe('expandCommand: instructions Docker expands', () => {
  const rows: { name: string; input: string; want: Record<string, unknown> }[] = [
    { name: 'COPY paths, dest and flags', input: 'COPY --from=$S --chown=$USERNAME:$USERNAME --chmod=${M:-0644} $A/x "${DIR}/y"', want: { from: 'build', chown: 'me:me', chmod: '0644', paths: ['a/x'], dest: '/app/y' } },
    { name: 'ADD paths, dest, chown', input: 'ADD --chown=$USERNAME $A.tgz $DIR/', want: { chown: 'me', paths: ['a.tgz'], dest: '/app/' } },
    { name: 'ENV keys and values', input: 'ENV K_$A=${DIR}/bin X="$A b"', want: { env: [{ key: 'K_a', value: '/app/bin' }, { key: 'X', value: 'a b' }] } },
    { name: 'LABEL', input: 'LABEL "v$A"="${DIR}"', want: { labels: [{ key: 'va', value: '/app' }] } },
    { name: 'EXPOSE splits words', input: 'EXPOSE $P 8080', want: { ports: ['80', '443/udp', '8080'] } },
    { name: 'STOPSIGNAL', input: 'STOPSIGNAL $SIG', want: { signal: 'SIGINT' } },
    { name: 'USER', input: 'USER ${USERNAME}', want: { user: 'me' } },
    { name: 'WORKDIR', input: 'WORKDIR $DIR/sub', want: { path: '/app/sub' } },
    { name: 'VOLUME', input: 'VOLUME $DIR/data ["x"]', want: { volumes: ['/app/data', '[x]'] } },
    { name: 'VOLUME JSON', input: 'VOLUME ["$DIR/data"]', want: { volumes: ['/app/data'] } },
    { name: 'ARG default', input: 'ARG X=$A-${DIR} Y', want: { args: [{ name: 'X', value: 'a-/app' }, { name: 'Y' }] } },
    { name: 'RUN --mount values', input: 'RUN --mount=type=cache,target=$DIR/cache echo $A', want: { args: ['echo $A'], mountFlags: ['type=cache,target=/app/cache'], mounts: [{ type: 'cache', target: '/app/cache', readOnly: false, required: false }] } },
  ];
  for (const r of rows) {
    it(r.name, () => assert.deepEqual(pick(expand(r.input).cmd, r.want), r.want));
  }

  it('reports matched and unmatched names', () => {
    const r = expand('WORKDIR $DIR/$NOPE');
    assert.deepEqual([...r.matched], ['DIR']);
    assert.deepEqual([...r.unmatched], ['NOPE']);
  });

  it('does not modify the input command', () => {
    const cmd = command('WORKDIR $DIR');
    expandCommand(cmd, lex, env);
    assert.equal((cmd as { path: string }).path, '$DIR');
  });
});

describe('expandCommand: instructions Docker does not expand', () => {
  const rows: { name: string; input: string; want: Record<string, unknown> }[] = [
    { name: 'RUN shell form', input: 'RUN echo $A ${DIR}', want: { args: ['echo $A ${DIR}'] } },
    { name: 'RUN exec form', input: 'RUN ["echo", "$A"]', want: { args: ['echo', '$A'] } },
    { name: 'CMD', input: 'CMD echo $A', want: { args: ['echo $A'] } },
    { name: 'ENTRYPOINT', input: 'ENTRYPOINT ["$A"]', want: { args: ['$A'] } },
    { name: 'SHELL', input: 'SHELL ["$A", "-c"]', want: { shell: ['$A', '-c'] } },
    { name: 'MAINTAINER', input: 'MAINTAINER $A', want: { maintainer: '$A' } },
    { name: 'ONBUILD', input: 'ONBUILD RUN echo $A', want: { expression: 'RUN echo $A' } },
    { name: 'HEALTHCHECK', input: 'HEALTHCHECK CMD echo $A', want: { health: { test: ['CMD-SHELL', 'echo $A'], interval: 0, timeout: 0, startPeriod: 0, startInterval: 0, retries: 0 } } },
  ];
  for (const r of rows) {
    it(r.name, () => {
      const got = expand(r.input);
      assert.deepEqual(pick(got.cmd, r.want), r.want);
      assert.equal(got.matched.size + got.unmatched.size, 0);
    });
  }

  it('heredoc bodies are left for the builder', () => {
    const text = 'FROM scratch\nCOPY <<EOF $DIR/f\n$A\nEOF\n';
    const cmd = command('COPY <<EOF $DIR/f\n$A\nEOF');
    const got = expandCommand(cmd, lex, env, { text });
    if (got.cmd.kind !== 'COPY') return assert.fail();
    assert.equal(got.cmd.dest, '/app/f');
    assert.equal(got.cmd.contents[0]!.data, '$A\n');
  });
});

describe('expandCommand: errors carry the range', () => {
  it('required variable', () => {
    const e = assertPlanError(() => expand('WORKDIR ${NOPE:?must be set}'), 'failed to process "${NOPE:?must be set}": NOPE: must be set', '2:1');
    assert.match(e.format(), /2 \| WORKDIR/);
  });
  it('bad substitution in COPY --from points at the flag', () => {
    assertPlanError(() => expand('COPY --from=${S=x} a b'), /unsupported modifier \(=\) in substitution/, '2:6');
  });
  it('EXPOSE invalid port after expansion', () => {
    assertPlanError(() => expand('EXPOSE ${A}'), 'invalid containerPort: a', '2:8');
  });
  it('EXPOSE invalid proto', () => {
    assertPlanError(() => expand('EXPOSE 80/xyz'), 'invalid proto: xyz', '2:8');
  });
  it('VOLUME empty after expansion', () => {
    assertPlanError(() => expand('VOLUME $EMPTY'), 'VOLUME specified can not be an empty string', '2:8');
  });
  it('RUN --mount invalid after expansion', () => {
    assertPlanError(() => expandCommand(command('RUN --mount=type=$A x'), lex, env), 'unsupported mount type "a"', '2:5');
  });
});

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { assertPlanError, ast, command, commands } from './helpers.js';
import { parseGoDuration } from '../../src/plan/durations.js';
import { parseMount, MountSpecError } from '../../src/plan/mounts.js';
import { parseFrom, chompHeredocContent } from '../../src/plan/instructions.js';
import type { FromNode } from '../../src/parser/ast.js';

/** Picks the fields a row cares about from the command. */
function pick(obj: object, want: object): Record<string, unknown> {
  const o = obj as Record<string, unknown>;
  return Object.fromEntries(Object.keys(want).map((k) => [k, o[k]]));
}

describe('parseCommand: typed commands', () => {
  const rows: { name: string; input: string; want: Record<string, unknown> }[] = [
    { name: 'RUN shell form', input: 'RUN echo hi', want: { kind: 'RUN', args: ['echo hi'], prependShell: true, mounts: [], heredocs: [] } },
    { name: 'RUN exec form', input: 'RUN ["echo", "hi"]', want: { kind: 'RUN', args: ['echo', 'hi'], prependShell: false } },
    { name: 'RUN network/security', input: 'RUN --network=none --security=insecure true', want: { network: 'none', security: 'insecure' } },
    {
      name: 'RUN cache mount',
      input: 'RUN --mount=type=cache,target=/root/.cache,id=pip,sharing=locked,mode=0755,uid=1,gid=2 pip install',
      want: { mounts: [{ type: 'cache', target: '/root/.cache', id: 'pip', sharing: 'locked', mode: 0o755, uid: 1, gid: 2, readOnly: false, required: false }] },
    },
    {
      name: 'RUN bind mount from stage (read-only by default), repeated --mount',
      input: 'RUN --mount=from=build,source=/out,target=/in --mount=type=tmpfs,dst=/tmp,size=64m ls',
      want: {
        mounts: [
          { type: 'bind', from: 'build', source: '/out', target: '/in', readOnly: true, required: false },
          { type: 'tmpfs', target: '/tmp', size: 64 * 1024 * 1024, readOnly: false, required: false },
        ],
        mountFroms: ['build'],
      },
    },
    { name: 'RUN secret mount', input: 'RUN --mount=type=secret,id=tok,required cat /run/secrets/tok', want: { mounts: [{ type: 'secret', id: 'tok', required: true, readOnly: true }] } },
    { name: 'RUN mount with a variable is parsed after expansion', input: 'RUN --mount=type=cache,target=$DIR true', want: { mounts: null, mountFlags: ['type=cache,target=$DIR'] } },
    { name: 'CMD shell', input: 'CMD echo hi', want: { kind: 'CMD', args: ['echo hi'], prependShell: true } },
    { name: 'CMD empty exec', input: 'CMD []', want: { kind: 'CMD', args: [], prependShell: false } },
    { name: 'ENTRYPOINT exec', input: 'ENTRYPOINT ["/bin/app", "-v"]', want: { kind: 'ENTRYPOINT', args: ['/bin/app', '-v'], prependShell: false } },
    { name: 'SHELL', input: 'SHELL ["/bin/bash", "-c"]', want: { kind: 'SHELL', shell: ['/bin/bash', '-c'] } },
    {
      name: 'COPY flags',
      input: 'COPY --from=build --chown=1:2 --chmod=0644 --link --parents --exclude=*.md --exclude=*.txt a b /dst/',
      want: { kind: 'COPY', from: 'build', chown: '1:2', chmod: '0644', link: true, parents: true, exclude: ['*.md', '*.txt'], paths: ['a', 'b'], dest: '/dst/' },
    },
    { name: 'COPY --link=false', input: 'COPY --link=false a /b', want: { link: false, parents: false, exclude: [] } },
    { name: 'COPY JSON form', input: 'COPY ["a b", "/c d"]', want: { paths: ['a b'], dest: '/c d' } },
    {
      name: 'ADD flags',
      input: 'ADD --checksum=sha256:0000000000000000000000000000000000000000000000000000000000000000 --keep-git-dir --unpack=false --chown=x https://e.com/a.tgz /a',
      want: { kind: 'ADD', checksum: 'sha256:0000000000000000000000000000000000000000000000000000000000000000', keepGitDir: true, unpack: false, chown: 'x', paths: ['https://e.com/a.tgz'], dest: '/a' },
    },
    { name: 'VOLUME words', input: 'VOLUME /a /b', want: { kind: 'VOLUME', volumes: ['/a', '/b'] } },
    { name: 'VOLUME JSON', input: 'VOLUME ["/a b"]', want: { volumes: ['/a b'] } },
    { name: 'EXPOSE', input: 'EXPOSE 80 443/tcp $P', want: { kind: 'EXPOSE', ports: ['80', '443/tcp', '$P'] } },
    { name: 'ARG forms (defaults raw until expansion)', input: 'ARG A B=1 C="x y"', want: { kind: 'ARG', args: [{ name: 'A' }, { name: 'B', value: '1' }, { name: 'C', value: '"x y"' }] } },
    { name: 'ARG empty default', input: 'ARG A=', want: { args: [{ name: 'A', value: '' }] } },
    { name: 'MAINTAINER', input: 'MAINTAINER Jane <j@x>', want: { kind: 'MAINTAINER', maintainer: 'Jane <j@x>' } },
    { name: 'USER', input: 'USER app:app', want: { kind: 'USER', user: 'app:app' } },
    { name: 'WORKDIR with space', input: 'WORKDIR /app dir', want: { kind: 'WORKDIR', path: '/app dir' } },
    { name: 'STOPSIGNAL', input: 'STOPSIGNAL SIGTERM', want: { kind: 'STOPSIGNAL', signal: 'SIGTERM' } },
    { name: 'ENV new form', input: 'ENV A=1 B="2 3"', want: { kind: 'ENV', env: [{ key: 'A', value: '1' }, { key: 'B', value: '"2 3"' }] } },
    { name: 'ENV old form', input: 'ENV A hello  world', want: { env: [{ key: 'A', value: 'hello  world' }] } },
    { name: 'LABEL', input: 'LABEL a=b "c d"=e', want: { kind: 'LABEL', labels: [{ key: 'a', value: 'b' }, { key: '"c d"', value: 'e' }] } },
    {
      name: 'HEALTHCHECK CMD shell with durations',
      input: 'HEALTHCHECK --interval=30s --timeout=1m30s --start-period=500ms --start-interval=0 --retries=3 CMD curl -f http://x/',
      want: { kind: 'HEALTHCHECK', health: { test: ['CMD-SHELL', 'curl -f http://x/'], interval: 30e9, timeout: 90e9, startPeriod: 500e6, startInterval: 0, retries: 3 } },
    },
    { name: 'HEALTHCHECK CMD exec', input: 'HEALTHCHECK CMD ["/check", "-q"]', want: { health: { test: ['CMD', '/check', '-q'], interval: 0, timeout: 0, startPeriod: 0, startInterval: 0, retries: 0 } } },
    { name: 'HEALTHCHECK NONE', input: 'HEALTHCHECK NONE', want: { health: { test: ['NONE'], interval: 0, timeout: 0, startPeriod: 0, startInterval: 0, retries: 0 } } },
    { name: 'HEALTHCHECK NONE ignores flags, as BuildKit', input: 'HEALTHCHECK --interval=5s NONE', want: { health: { test: ['NONE'], interval: 0, timeout: 0, startPeriod: 0, startInterval: 0, retries: 0 } } },
    { name: 'ONBUILD keeps the trigger text', input: 'ONBUILD RUN echo "hi there"', want: { kind: 'ONBUILD', expression: 'RUN echo "hi there"' } },
    { name: 'ONBUILD trigger with flags', input: 'onbuild COPY --from=build /a /b', want: { expression: 'COPY --from=build /a /b' } },
  ];
  for (const r of rows) {
    it(r.name, () => {
      const cmd = command(r.input);
      assert.deepEqual(pick(cmd, r.want), r.want);
    });
  }
});

describe('parseCommand: heredocs', () => {
  it('RUN heredoc with <<- strips leading tabs', () => {
    const [cmd] = commands('FROM scratch\nRUN <<-EOF\n\techo hi\n\t\techo there\n\tEOF\n');
    assert.equal(cmd!.kind, 'RUN');
    if (cmd!.kind !== 'RUN') return;
    assert.deepEqual(cmd.heredocs, [{ name: 'EOF', data: 'echo hi\necho there\n', expand: true, fileDescriptor: 0 }]);
  });
  it('COPY heredocs become inline contents; quoted delimiter does not expand', () => {
    const [cmd] = commands('FROM scratch\nCOPY <<A <<"B" /dst/\na $X\nA\nb $X\nB\n');
    if (cmd!.kind !== 'COPY') return assert.fail('COPY expected');
    assert.deepEqual(cmd.paths, []);
    assert.deepEqual(cmd.contents, [
      { name: 'A', data: 'a $X\n', expand: true, fileDescriptor: 0 },
      { name: 'B', data: 'b $X\n', expand: false, fileDescriptor: 0 },
    ]);
    assert.equal(cmd.dest, '/dst/');
  });
  it('ONBUILD trigger with a heredoc keeps the body, as BuildKit', () => {
    const [cmd] = commands('FROM scratch\nONBUILD RUN <<EOF\necho hi\nEOF\n');
    if (cmd!.kind !== 'ONBUILD') return assert.fail('ONBUILD expected');
    assert.equal(cmd.expression, 'RUN <<EOF\necho hi\nEOF');
  });
  it('heredoc as COPY destination is an error', () => {
    assertPlanError(() => commands('FROM scratch\nCOPY a <<EOF\nx\nEOF\n'), 'COPY cannot accept a heredoc as a destination', '2:8');
  });
  it('chompHeredocContent', () => {
    assert.equal(chompHeredocContent('\t\ta\n b\n\tc'), 'a\n b\nc');
  });
});

describe('parseCommand: errors (message and line:col)', () => {
  const rows: { name: string; input: string; want: string | RegExp; at: string }[] = [
    { name: 'unknown flag', input: 'COPY --foo=1 a b', want: 'unknown flag: --foo', at: '2:6' },
    { name: 'flag on an instruction without flags', input: 'WORKDIR --x /a', want: 'unknown flag: --x', at: '2:9' },
    { name: 'duplicate string flag', input: 'COPY --from=a --from=b x y', want: 'duplicate flag specified: --from', at: '2:15' },
    { name: 'string flag without value', input: 'COPY --from a b', want: 'missing a value on flag: --from', at: '2:6' },
    { name: 'bad bool', input: 'COPY --link=maybe a b', want: 'expecting boolean value for flag link, not: maybe', at: '2:6' },
    { name: 'WORKDIR no args', input: 'WORKDIR', want: 'WORKDIR requires exactly one argument', at: '2:1' },
    { name: 'USER no args', input: 'USER', want: 'USER requires exactly one argument', at: '2:1' },
    { name: 'STOPSIGNAL no args', input: 'STOPSIGNAL', want: 'STOPSIGNAL requires exactly one argument', at: '2:1' },
    { name: 'COPY one arg', input: 'COPY a', want: 'COPY requires at least two arguments, but only one was provided. Destination could not be determined', at: '2:1' },
    { name: 'ADD one arg', input: 'ADD a', want: 'ADD requires at least two arguments, but only one was provided. Destination could not be determined', at: '2:1' },
    { name: 'EXPOSE no args', input: 'EXPOSE', want: 'EXPOSE requires at least one argument', at: '2:1' },
    { name: 'VOLUME no args', input: 'VOLUME []', want: 'VOLUME requires at least one argument', at: '2:1' },
    { name: 'ARG no args', input: 'ARG', want: 'ARG requires at least one argument', at: '2:1' },
    { name: 'ARG blank name', input: 'ARG =x', want: 'ARG names can not be blank', at: '2:5' },
    { name: 'SHELL not JSON', input: 'SHELL /bin/sh -c', want: 'SHELL requires the arguments to be in JSON form', at: '2:1' },
    { name: 'SHELL empty', input: 'SHELL []', want: 'SHELL requires at least one argument', at: '2:1' },
    { name: 'HEALTHCHECK NONE with args', input: 'HEALTHCHECK NONE x', want: 'HEALTHCHECK NONE takes no arguments', at: '2:1' },
    { name: 'HEALTHCHECK unknown type', input: 'HEALTHCHECK FOO x', want: 'Unknown type "FOO" in HEALTHCHECK (try CMD)', at: '2:13' },
    { name: 'HEALTHCHECK CMD without command', input: 'HEALTHCHECK CMD', want: 'Missing command after HEALTHCHECK CMD', at: '2:1' },
    { name: 'HEALTHCHECK interval too small', input: 'HEALTHCHECK --interval=1us CMD x', want: 'Interval "interval" cannot be less than 1ms', at: '2:13' },
    { name: 'HEALTHCHECK bad duration', input: 'HEALTHCHECK --timeout=5 CMD x', want: 'time: missing unit in duration "5"', at: '2:13' },
    { name: 'HEALTHCHECK negative retries', input: 'HEALTHCHECK --retries=-1 CMD x', want: '--retries cannot be negative (-1)', at: '2:13' },
    { name: 'HEALTHCHECK unknown flag', input: 'HEALTHCHECK --intervl=1s CMD x', want: 'unknown flag: --intervl', at: '2:13' },
    { name: 'ONBUILD ONBUILD', input: 'ONBUILD ONBUILD RUN x', want: /ONBUILD ONBUILD` isn't allowed/, at: '2:9' },
    { name: 'ONBUILD FROM', input: 'ONBUILD FROM alpine', want: "FROM isn't allowed as an ONBUILD trigger", at: '2:9' },
    { name: 'ONBUILD MAINTAINER', input: 'ONBUILD MAINTAINER me', want: "MAINTAINER isn't allowed as an ONBUILD trigger", at: '2:9' },
    { name: 'RUN bad network', input: 'RUN --network=bridge x', want: 'unsupported network mode "bridge"', at: '2:5' },
    { name: 'mount: bad type', input: 'RUN --mount=type=bnd x', want: 'unsupported mount type "bnd"', at: '2:5' },
    { name: 'mount: bad key', input: 'RUN --mount=type=bind,tagret=/x x', want: "unexpected key 'tagret' in 'tagret=/x'", at: '2:5' },
    { name: 'mount: key without value', input: 'RUN --mount=type=bind,foo x', want: "invalid field 'foo' must be a key=value pair", at: '2:5' },
    { name: 'mount: bad sharing', input: 'RUN --mount=type=cache,target=/c,sharing=no x', want: 'unsupported sharing value "no"', at: '2:5' },
    { name: 'mount: sharing on bind', input: 'RUN --mount=type=bind,target=/c,sharing=locked x', want: 'invalid cache sharing set for bind mount', at: '2:5' },
    { name: 'mount: mode on bind', input: 'RUN --mount=type=bind,target=/c,mode=0700 x', want: 'mode not allowed for "bind" type mounts', at: '2:5' },
    { name: 'mount: bad mode', input: 'RUN --mount=type=cache,target=/c,mode=999 x', want: 'invalid value 999 for mode', at: '2:5' },
    { name: 'mount: bad uid', input: 'RUN --mount=type=cache,target=/c,uid=x x', want: 'invalid value x for uid', at: '2:5' },
    { name: 'mount: required on bind', input: 'RUN --mount=type=bind,required x', want: "unexpected key 'required' for mount type 'bind'", at: '2:5' },
    { name: 'mount: secret without anything', input: 'RUN --mount=type=secret x', want: 'invalid secret mount. one of source, target required', at: '2:5' },
    { name: 'mount: secret with from', input: 'RUN --mount=type=secret,id=a,from=b x', want: 'secret mount should not have a from', at: '2:5' },
    { name: 'mount: from with a variable', input: 'RUN --mount=from=$STAGE,target=/x x', want: "'from' doesn't support variable expansion, define alias stage instead", at: '2:5' },
    { name: 'mount: bad ro value', input: 'RUN --mount=type=bind,ro=maybe x', want: 'invalid value for ro: maybe', at: '2:5' },
    { name: 'ADD checksum with many sources', input: 'ADD --checksum=sha256:a x y /d', want: "checksum can't be specified for multiple sources", at: '2:5' },
  ];
  for (const r of rows) {
    it(r.name, () => {
      assertPlanError(() => command(r.input), r.want, r.at);
    });
  }

  it('unknown instruction uses the parser error with a hint', () => {
    const e = assertPlanError(() => command('RUNN echo'), /unknown instruction/i, '2:1');
    assert.match(e.hint ?? '', /RUN/);
  });

  it('unknown flag hint lists the allowed flags', () => {
    const e = assertPlanError(() => command('COPY --form=a b c'), 'unknown flag: --form');
    assert.match(e.hint ?? '', /did you mean --from\?/);
    assert.match(e.hint ?? '', /--chown/);
  });

  it('format() prints the excerpt when the text is given', () => {
    const e = assertPlanError(() => command('WORKDIR'), 'WORKDIR requires exactly one argument');
    assert.match(e.format(), /^Dockerfile:2:1: WORKDIR requires exactly one argument\n 2 \| WORKDIR\n/);
  });
});

describe('parseFrom', () => {
  const from = (line: string) => {
    const a = ast(`${line}\n`);
    return parseFrom(a.instructions[0] as FromNode, { ast: a });
  };
  it('image, AS name (lower-cased), --platform', () => {
    const h = from('FROM --platform=$BUILDPLATFORM golang:1.22 AS Build');
    assert.deepEqual({ image: h.image, name: h.name, platform: h.platform }, { image: 'golang:1.22', name: 'build', platform: '$BUILDPLATFORM' });
  });
  it('two arguments', () => {
    assertPlanError(() => from('FROM a b'), 'FROM requires either one or three arguments', '1:1');
  });
  it('bad stage name', () => {
    assertPlanError(() => from('FROM a AS 1st'), 'invalid name for build stage: "1st", name can\'t start with a number or contain symbols', '1:11');
  });
  it('bad flag', () => {
    assertPlanError(() => from('FROM --plat=x a'), 'unknown flag: --plat', '1:6');
  });
});

describe('parseGoDuration', () => {
  const rows: [string, number | null][] = [
    ['0', 0], ['1s', 1e9], ['1.5s', 1.5e9], ['1h2m3s', 3723e9], ['300ms', 300e6], ['2us', 2000], ['2µs', 2000], ['-1s', -1e9],
    ['', null], ['5', null], ['1x', null], ['s', null], ['.s', null],
  ];
  for (const [input, want] of rows) {
    it(JSON.stringify(input), () => {
      if (want === null) assert.throws(() => parseGoDuration(input));
      else assert.equal(parseGoDuration(input), want);
    });
  }
});

describe('parseMount', () => {
  it('csv quoting', () => {
    assert.deepEqual(parseMount('type=bind,"target=/a,b"'), { type: 'bind', target: '/a,b', readOnly: true, required: false });
  });
  it('rw on bind', () => {
    assert.equal(parseMount('type=bind,target=/a,rw').readOnly, false);
  });
  it('errors are MountSpecErrors', () => {
    assert.throws(() => parseMount('type=bind,uid=1'), MountSpecError);
  });
});

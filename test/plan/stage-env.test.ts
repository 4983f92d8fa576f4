import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { commands, assertPlanError } from './helpers.js';
import { StageEnv } from '../../src/plan/stage-env.js';
import { ShellLex } from '../../src/plan/shell-lex.js';
import type { ArgCommand, EnvCommand } from '../../src/plan/commands.js';

const lex = new ShellLex();

function run(text: string, opts: { globals?: Record<string, string | undefined>; buildArgs?: Record<string, string>; imageEnv?: string[] } = {}): StageEnv {
  const env = new StageEnv({ lex, globalArgs: new Map(Object.entries(opts.globals ?? {})), buildArgs: opts.buildArgs ?? {}, imageEnv: opts.imageEnv ?? [], text });
  for (const c of commands(text)) {
    if (c.kind === 'ARG') env.applyArg(c as ArgCommand);
    else if (c.kind === 'ENV') env.applyEnv(c as EnvCommand);
  }
  return env;
}

describe('StageEnv', () => {
  it('starts with the image Env', () => {
    const e = run('FROM x\n', { imageEnv: ['PATH=/bin', 'EMPTY='] });
    assert.deepEqual([...e.vars], [['PATH', '/bin'], ['EMPTY', '']]);
  });

  it('global ARG is only visible when re-declared', () => {
    assert.equal(run('FROM x\n', { globals: { V: '1' } }).vars.get('V'), undefined);
    assert.equal(run('FROM x\nARG V\n', { globals: { V: '1' } }).vars.get('V'), '1');
  });

  it('predefined args via ARG TARGETPLATFORM', () => {
    assert.equal(run('FROM x\nARG TARGETPLATFORM\n', { globals: { TARGETPLATFORM: 'linux/amd64' } }).args.get('TARGETPLATFORM'), 'linux/amd64');
  });

  it('--build-arg overrides the default and is recorded as used', () => {
    const e = run('FROM x\nARG V=def\n', { buildArgs: { V: 'cli', W: 'x' } });
    assert.equal(e.vars.get('V'), 'cli');
    assert.deepEqual([...e.usedBuildArgs], ['V']);
  });

  it('ARG default expands with what is in scope; quotes processed', () => {
    const e = run('FROM x\nENV D=/app\nARG A="$D/a b"\n');
    assert.equal(e.args.get('A'), '/app/a b');
  });

  it('ENV overrides an ARG of the same name for expansion', () => {
    const e = run('FROM x\nARG V=arg\nENV V=env\n');
    assert.equal(e.vars.get('V'), 'env');
    assert.equal(e.args.get('V'), 'arg');
  });

  it('ENV pairs on one line see the values before the line', () => {
    const e = run('FROM x\nENV abc=hello\nENV abc=bye def=$abc\nENV ghi=$abc\n');
    assert.equal(e.env.get('def'), 'hello');
    assert.equal(e.env.get('ghi'), 'bye');
  });

  it('ENV replacing an image variable keeps its position', () => {
    const e = run('FROM x\nENV PATH=/x:$PATH NEW=1\n', { imageEnv: ['PATH=/bin', 'HOME=/root'] });
    assert.deepEqual([...e.env], [['PATH', '/x:/bin'], ['HOME', '/root'], ['NEW', '1']]);
  });

  it('proxy args are usable without ARG and marked used', () => {
    const e = run('FROM x\n', { buildArgs: { HTTP_PROXY: 'http://p', OTHER: '1' } });
    assert.deepEqual(e.proxyEnv, ['HTTP_PROXY=http://p', 'http_proxy=http://p']);
    assert.ok(e.usedBuildArgs.has('HTTP_PROXY'));
    assert.equal(e.vars.get('HTTP_PROXY'), undefined);
  });

  it('proxy env: both spellings, lowercase wins, empty values dropped, http/https/ftp/no/all order', () => {
    const e = run('FROM x\n', { buildArgs: { all_proxy: 'a', NO_PROXY: 'n', no_proxy: 'low', HTTPS_PROXY: '', http_proxy: 'h' } });
    assert.deepEqual(e.proxyEnv, ['HTTP_PROXY=h', 'http_proxy=h', 'NO_PROXY=low', 'no_proxy=low', 'ALL_PROXY=a', 'all_proxy=a']);
  });

  it('expand() uses the running variables', () => {
    const text = 'FROM x\nARG D=/srv\nWORKDIR $D/app\n';
    const env = new StageEnv({ lex, globalArgs: new Map(), text });
    const [arg, wd] = commands(text);
    env.applyArg(arg as ArgCommand);
    const r = env.expand(wd!);
    assert.equal((r.cmd as { path: string }).path, '/srv/app');
  });

  it('ARG default errors carry the range', () => {
    assertPlanError(() => run('FROM x\nARG A=${B:?required}\n'), /B: required/, '2:1');
  });
});

describe('StageEnv: limits (issue 16)', () => {
  const nested = (n: number) => '${a:-'.repeat(n) + 'x' + '}'.repeat(n);

  it('${…} nested 1 000 deep expands', () => {
    assert.equal(run(`FROM x\nENV X=${nested(1000)}\n`).vars.get('X'), 'x');
  });

  it('${…} nested 5 000 deep is a PlanError at the line that names the limit and quotes only the start of the word', () => {
    const err = assertPlanError(() => run(`FROM x\nARG A=1\nENV X=${nested(5000)}\n`), /^failed to process "\$\{a:-\$\{a:-.*…" \(30001 characters\): \$\{…\} substitutions nested more than 1000 deep$/, '3:1');
    assert.ok(err.message.length < 200, 'the message does not repeat the 30 000-character word');
    assert.ok(err.hint);
  });
});

describe('StageEnv: RUN history args and inheritance (BuildKit runCommandString)', () => {
  it('every declared ARG once, first place, current value; none: empty', () => {
    assert.deepEqual(run('FROM x\n').historyArgs, []);
    assert.deepEqual(run('FROM x\nARG foo=bar\nARG bar=123\nARG foo=bar2\nARG e\nENV bar=env\n').historyArgs, ['|3', 'foo=bar2', 'bar=env', 'e=']);
  });

  it('ARG without a value keeps the value the name has (BuildKit adds no env, removes none)', () => {
    assert.equal(run('FROM x\nARG foo=bar\nARG foo\n').vars.get('foo'), 'bar');
  });

  it('a stage based on another starts with its ARGs', () => {
    const parent = run('FROM x\nARG A=1\nARG B\n');
    const child = new StageEnv({ lex, globalArgs: new Map(), parent });
    assert.equal(child.vars.get('A'), '1');
    assert.deepEqual(child.historyArgs, ['|2', 'A=1', 'B=']);
  });

  it('the later of ENV and ARG wins for expansion (BuildKit state env); the config Env keeps the ENV', () => {
    const e = run('FROM x\nENV V=env\nARG V=arg\n');
    assert.equal(e.vars.get('V'), 'arg');
    assert.equal(e.env.get('V'), 'env');
    assert.equal(run('FROM x\nARG V=arg\nENV V=env\n').vars.get('V'), 'env');
    assert.equal(run('FROM x\nARG V\n', { imageEnv: ['V=img'], buildArgs: { V: 'cli' } }).vars.get('V'), 'cli');
    assert.equal(run('FROM x\nARG V\n', { imageEnv: ['V=img'] }).vars.get('V'), 'img');
  });
});

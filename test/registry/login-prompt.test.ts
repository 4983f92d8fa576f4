/**
 * `mybuild login` asking for the username and password on a real terminal: the CLI runs under
 * script(1), which gives it a pseudo-terminal; the test types into it as a user would.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cliPath, repoRoot } from '../helpers/paths.js';
import { runCli } from '../helpers/cli.js';
import { registryMissing, startRegistry, type TestRegistry } from '../helpers/registry.js';

// Compiled (dist/test/…): the compiled CLI; from source (tsx): src/cli.ts through tsx.
const compiled = fileURLToPath(import.meta.url).endsWith('.js');
const cliArgs = compiled ? [cliPath] : ['--import', 'tsx', path.join(repoRoot, 'src', 'main.ts')];
const scriptMissing = existsSync('/usr/bin/script') ? false : 'script(1) (util-linux) is not installed';
const cliMissing = compiled && !existsSync(cliPath) ? `${cliPath} is not built (npm run build)` : false;

/**
 * Runs `mybuild ARGS` on a pseudo-terminal; `answers` are typed in order, each once the screen
 * shows its prompt `after` (for the n-th answer with the same prompt, its n-th appearance).
 * Resolves the exit code and everything the terminal showed.
 */
async function onTerminal(args: string[], env: NodeJS.ProcessEnv, answers: { after: string; type: string }[]): Promise<{ code: number; screen: string }> {
  const cmd = [process.execPath, ...cliArgs, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const child = spawn('script', ['-q', '-e', '-f', '-c', cmd, '/dev/null'], { env, cwd: repoRoot, stdio: ['pipe', 'pipe', 'pipe'] });
  let screen = '';
  let next = 0;
  const onOutput = (d: Buffer): void => {
    screen += d.toString();
    while (next < answers.length && screen.split(answers[next].after).length - 1 >= answers.filter((a, i) => i <= next && a.after === answers[next].after).length) {
      child.stdin.write(answers[next++].type);
    }
  };
  child.stdout.on('data', onOutput);
  child.stderr.on('data', onOutput);
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? -1)));
  clearTimeout(timer);
  return { code, screen };
}

describe('mybuild login prompts on a terminal', { skip: registryMissing || scriptMissing || cliMissing }, () => {
  let reg: TestRegistry;
  let tmp: string;
  let env: NodeJS.ProcessEnv;
  before(async () => {
    reg = await startRegistry('basic');
    tmp = await mkdtemp(path.join(os.tmpdir(), 'mybuild-login-tty-'));
    env = { PATH: process.env.PATH, HOME: tmp, DOCKER_CONFIG: path.join(tmp, 'docker'), TERM: 'dumb' };
  });
  after(async () => {
    await reg?.stop();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('asks for the username (echoed) and the password (not echoed), then logs in', async () => {
    const r = await onTerminal(['login', reg.domain], env, [
      { after: 'Username: ', type: 'alice\r' },
      { after: 'Password: ', type: 'wondx\x7ferland\r' },
    ]);
    assert.equal(r.code, 0, r.screen);
    assert.match(r.screen, /Username: alice\r?\n/);
    assert.match(r.screen, /Login Succeeded/);
    assert.doesNotMatch(r.screen, /wond|land/, 'the password was not echoed');
    const cfg = JSON.parse(await readFile(path.join(tmp, 'docker', 'config.json'), 'utf8')) as { auths: Record<string, { auth: string }> };
    assert.equal(cfg.auths[reg.domain].auth, Buffer.from('alice:wonderland').toString('base64'), 'Backspace removed the typo');
  });

  it('with -u it asks only for the password; a wrong one is refused', async () => {
    const r = await onTerminal(['login', '-u', 'bob', reg.domain], env, [{ after: 'Password: ', type: 'nope\r' }]);
    assert.equal(r.code, 5, r.screen);
    assert.doesNotMatch(r.screen, /Username:/);
    assert.match(r.screen, /error: login to 127\.0\.0\.1:\d+: .*\(401\)/);
  });

  it('Ctrl-C at the password prompt cancels and restores the terminal', async () => {
    const r = await onTerminal(['login', '-u', 'bob', reg.domain], env, [{ after: 'Password: ', type: 'x\x03' }]);
    assert.equal(r.code, 130, r.screen);
    assert.match(r.screen, /login canceled/);
  });

  it('without a terminal it never prompts: a usage error names the flags', async () => {
    const r = await runCli(['login', reg.domain], { env });
    assert.equal(r.code, 2);
    assert.match(r.err, /login needs a username, and stdin is not a terminal to ask for it/);
    assert.match(r.err, /hint: mybuild login -u USER --password-stdin/);
    assert.doesNotMatch(r.out, /Username:/);
    const p = await runCli(['login', '-u', 'alice', reg.domain], { env });
    assert.equal(p.code, 2);
    assert.match(p.err, /login needs a password, and stdin is not a terminal/);
  });
});

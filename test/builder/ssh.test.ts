/**
 * `mybuild build --ssh` and `RUN --mount=type=ssh` (src/builder/ssh-agents.ts), with real agents:
 * Debian's ssh-agent (the user's, through SSH_AUTH_SOCK, or mybuild's private one holding key
 * files) and, inside the RUN, the host's own ssh-add (bound in from the context with its
 * libraries, since busybox has no ssh client) listing the keys it reaches through the socket.
 * Also: the socket's owner and mode, SSH_AUTH_SOCK, nothing of the agent in the image or the
 * cache key, required/optional mounts, and refusals (no agent, -H).
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildSkipReason, cleanupTemp, makeStoreRoot, runCliProcess, tempDir } from '../helpers/build.js';

const missing = ['ssh-agent', 'ssh-add', 'ssh-keygen'].find((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0);
const skip = buildSkipReason() || (missing ? `${missing} is not installed (openssh-client: scripts/install-system-deps.sh)` : false);

/** A new ed25519 key pair: the private key file and the public key's `type base64` part. */
async function keyPair(dir: string, name: string): Promise<{ file: string; pub: string }> {
  const file = path.join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', file]);
  const pub = (await readFile(`${file}.pub`, 'utf8')).split(' ').slice(0, 2).join(' ');
  return { file, pub };
}

/** The host's ssh-add with its shared libraries, for `--mount=type=bind,source=sshbin,target=/x`. */
function copySshAdd(ctx: string): void {
  const dir = path.join(ctx, 'sshbin');
  mkdirSync(dir, { recursive: true });
  copyFileSync('/usr/bin/ssh-add', path.join(dir, 'ssh-add'));
  const libs = execFileSync('ldd', ['/usr/bin/ssh-add']).toString().match(/\/\S+/g) ?? [];
  for (const lib of libs) copyFileSync(lib, path.join(dir, path.basename(lib)));
}
const loader = (ctx: string) => readdirSync(path.join(ctx, 'sshbin')).find((f) => f.startsWith('ld-linux'))!;

describe('build --ssh and RUN --mount=type=ssh', { skip }, () => {
  let root: string;
  let ctx: string;
  let keys: string;
  let agent: ChildProcess | undefined;
  let agentSock: string;
  before(async () => {
    root = await makeStoreRoot();
    ctx = await tempDir('mybuild-sshctx-');
    keys = await tempDir('mybuild-sshkeys-');
    copySshAdd(ctx);
    agentSock = path.join(keys, 'user-agent.sock');
    agent = spawn('ssh-agent', ['-D', '-a', agentSock], { stdio: 'ignore' });
    for (let i = 0; !existsSync(agentSock) && i < 200; i++) await new Promise((r) => setTimeout(r, 25));
  });
  after(async () => {
    agent?.kill();
    await cleanupTemp();
  });

  /** Builds `dockerfile` with `flags`; returns the CLI run and the RUN stage's /out files. */
  const build = async (dockerfile: string, flags: string[], env: NodeJS.ProcessEnv = {}) => {
    await writeFile(path.join(ctx, 'Dockerfile'), dockerfile.replaceAll('SSHADD', `/x/${loader(ctx)} --library-path /x /x/ssh-add`));
    const out = path.join(await tempDir('mybuild-sshout-'), 'out');
    const r = await runCliProcess(['--root', root, 'build', '--progress', 'plain', ...flags, '--output', `type=local,dest=${out}`, '.'], { cwd: ctx, env: { SSH_AUTH_SOCK: '', ...env } });
    const read = (f: string) => readFile(path.join(out, 'out', f), 'utf8').then((t) => t.trim());
    return { ...r, out, read };
  };
  const listKeys = 'FROM busybox\nRUN --mount=type=ssh --mount=type=bind,source=sshbin,target=/x mkdir /out && SSHADD -L | cut -d" " -f1,2 > /out/keys && echo "$SSH_AUTH_SOCK $(stat -c "%u %g %a %F" $SSH_AUTH_SOCK)" > /out/sock\n';

  it('--ssh default=KEY: a private agent holds the key; the RUN\'s ssh-add lists it through /run/buildkit/ssh_agent.0 (0:0 0600)', async () => {
    const k = await keyPair(keys, 'k1');
    const r = await build(listKeys, ['--ssh', `default=${k.file}`]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await r.read('keys'), k.pub);
    assert.equal(await r.read('sock'), '/run/buildkit/ssh_agent.0 0 0 600 socket');
    // Nothing of the agent stays: no socket in the image, no private agent running, no directory left.
    assert.ok(!existsSync(path.join(r.out, 'run/buildkit')), 'the socket is not in the image');
    assert.ok(!readdirSync(path.join(root, 'tmp')).some((d) => d.startsWith('ssh-')), 'the private agent\'s directory is removed');
    const agents = execFileSync('ps', ['-eo', 'args']).toString().split('\n').filter((l) => l.startsWith('ssh-agent') && l.includes(path.join(root, 'tmp')));
    assert.deepEqual(agents, [], 'the private agent is stopped');
  });

  it('--ssh default forwards the agent of SSH_AUTH_SOCK; a key change is not a cache miss (only the id is in the key)', async () => {
    const k = await keyPair(keys, 'k2');
    execFileSync('ssh-add', ['-q', k.file], { env: { ...process.env, SSH_AUTH_SOCK: agentSock } });
    const df = listKeys.replace('mkdir /out', 'mkdir /out && echo agent-run');
    const r = await build(df, ['--ssh', 'default'], { SSH_AUTH_SOCK: agentSock });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await r.read('keys'), k.pub);
    const other = await keyPair(keys, 'k3');
    const again = await build(df, ['--ssh', `default=${other.file}`]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /RUN --mount=type=ssh.*\n#\d+ CACHED/);
    assert.equal(await again.read('keys'), k.pub);
  });

  it('id=, target=, mode, uid and gid: the socket and SSH_AUTH_SOCK as the mount says', async () => {
    const k = await keyPair(keys, 'k4');
    const df = 'FROM busybox\nRUN --mount=type=ssh,id=deploy,target=/tmp/agent.sock,mode=0660,uid=100,gid=101 --mount=type=bind,source=sshbin,target=/x mkdir /out && SSHADD -L | cut -d" " -f1,2 > /out/keys && echo "$SSH_AUTH_SOCK $(stat -c "%u %g %a" /tmp/agent.sock)" > /out/sock\n';
    const r = await build(df, ['--ssh', `deploy=${k.file}`]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await r.read('keys'), k.pub);
    assert.equal(await r.read('sock'), '/tmp/agent.sock 100 101 660');
  });

  it('a required mount without its --ssh fails at the RUN; an optional one runs without a socket', async () => {
    const req = await build('FROM busybox\nRUN --mount=type=ssh,id=missing,required true\n', []);
    assert.notEqual(req.code, 0);
    assert.match(req.stderr, /Dockerfile:2:1: no SSH key "missing" forwarded from the client/);
    const opt = await build('FROM busybox\nRUN --mount=type=ssh mkdir /out && if [ -e "$SSH_AUTH_SOCK" ]; then echo yes; else echo no; fi > /out/sock\n', []);
    assert.equal(opt.code, 0, opt.stderr);
    assert.equal(await opt.read('sock'), 'no');
  });

  it('refuses what it cannot forward, naming --ssh', async () => {
    const df = 'FROM busybox\nRUN --mount=type=ssh true\n';
    const noAgent = await build(df, ['--ssh', 'default']);
    assert.equal(noAgent.code, 2);
    assert.match(noAgent.stderr, /--ssh default: SSH_AUTH_SOCK is not set/);
    const noFile = await build(df, ['--ssh', `default=${path.join(keys, 'nope')}`]);
    assert.equal(noFile.code, 2);
    assert.match(noFile.stderr, /--ssh default=.*nope does not exist/);
    await writeFile(path.join(keys, 'notakey'), 'hello\n');
    const bad = await build(df, ['--ssh', `default=${path.join(keys, 'notakey')}`]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /--ssh default: ssh-add could not load .*notakey/);
    const source = await build('FROM busybox\nRUN --mount=type=ssh,source=x true\n', []);
    assert.match(source.stderr, /ssh does not support source/);
    const remote = await runCliProcess(['-H', 'unix:///nonexistent.sock', 'build', '--ssh', `default=${agentSock}`, '.'], { cwd: ctx });
    assert.equal(remote.code, 2);
    assert.match(remote.stderr, /--ssh is not supported with -H/);
  });
});

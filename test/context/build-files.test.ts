/**
 * The Dockerfile and the ignore files are read inside the build context (issue 14, item 2): a
 * symlink to a host file is refused with an error naming the build file, and the host file's
 * content (a root-only "shadow" file made here, its first line a secret) never appears in any
 * output; a FIFO or a device as a build file fails fast instead of hanging; a binary file is
 * refused without being echoed. Daemonless (`mybuild build`), through the client (`mybuild -H`)
 * and in the daemon from a context tar sent by the real docker CLI (`docker build - < ctx.tar`);
 * `mybuild parse` reads ./Dockerfile the same way.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { MAX_BUILD_FILE_BYTES, readBuildFile, readBuildFileAt, readDockerfile } from '../../src/context/build-files.js';
import { BuildContext } from '../../src/context/context.js';
import { BuildError } from '../../src/errors.js';
import { cliPath } from '../helpers/paths.js';
import { DOCKER, dockerMissing, notRoot, startTestDaemon, tarOf, type TestDaemon } from '../daemon/helpers.js';
import { makeTree } from './make-tree.js';

const SECRET = `MYBUILD-SECRET-${randomBytes(8).toString('hex')}`;

interface Ran {
  code: number | null;
  killed: boolean;
  out: string;
}

/** Runs `cmd args`; a run still going after `timeoutMs` is SIGKILLed (the old code ignored SIGTERM while stuck on a FIFO). */
function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; input?: Buffer; timeoutMs?: number } = {}): Promise<Ran> {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { env: { ...process.env, ...opts.env }, cwd: opts.cwd, encoding: 'buffer', maxBuffer: 64 << 20, timeout: opts.timeoutMs ?? 30_000, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { killed?: boolean; code?: unknown }) | null;
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : null) : 0, killed: Boolean(e?.killed), out: stdout.toString('utf8') + stderr.toString('utf8') });
    });
    child.stdin?.end(opts.input);
  });
}

/** `mybuild ARGS` (the compiled CLI), failing the test if it had to be killed. */
const mybuild = (args: string[], opts: { cwd?: string; timeoutMs?: number } = {}) => run(process.execPath, [cliPath, ...args], { env: { MYBUILD_HOST: '' }, ...opts });

function assertRefused(r: Ran, want: RegExp): void {
  assert.equal(r.killed, false, `the build did not end by itself:\n${r.out}`);
  assert.notEqual(r.code, 0, r.out);
  assert.match(r.out, want);
  assert.ok(!r.out.includes(SECRET), `the host file's content was printed:\n${r.out}`);
}

const contextError = (re: RegExp) => (e: unknown) => e instanceof BuildError && e.code === 'CONTEXT' && re.test(e.message) && !e.message.includes(SECRET) && !(e.hint ?? '').includes(SECRET);


describe('build files are read inside the context', { concurrency: false }, () => {
  let tmp: string;
  /** A root-only host file whose first line is the secret (an /etc/shadow stand-in). */
  let shadow: string;
  let root: string;
  const binary = Buffer.concat([Buffer.from(`${SECRET}\n`), Buffer.from([0, 1, 2, 0xff]), Buffer.from('\nFROM scratch\n')]);
  const notUtf8 = Buffer.concat([Buffer.from(`${SECRET}\n`), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('\n')]);

  /** A fresh context directory `name` under tmp with `tree` (see makeTree). */
  async function ctx(name: string, tree: Record<string, string>): Promise<string> {
    const dir = path.join(tmp, name);
    await mkdir(dir, { recursive: true });
    await makeTree(dir, tree);
    return dir;
  }

  before(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'mybuild-buildfiles-'));
    await mkdir(path.join(tmp, 'host'), { mode: 0o700 });
    shadow = path.join(tmp, 'host', 'shadow');
    await writeFile(shadow, `${SECRET}:$6$salt$hash:19000:0:99999:7:::\nbin:*:19000:0:99999:7:::\n`, { mode: 0o600 });
    await chmod(shadow, 0o600);
    root = path.join(tmp, 'root');
  });
  after(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  describe('readBuildFile', () => {
    it('refuses a symlink that leaves the context (absolute or ..), naming the file and not its content', async () => {
      const dir = await ctx('unit-links', { 'Dockerfile': '->' + shadow, 'rel.Dockerfile': '->../host/shadow', 'sub/up': '->../..', 'in.Dockerfile': '->real/Dockerfile', 'real/Dockerfile': 'FROM scratch\n' });
      await assert.rejects(readBuildFile(dir, 'Dockerfile', { what: 'Dockerfile' }), contextError(/^the Dockerfile Dockerfile points outside of the build context \(symlink Dockerfile -> /));
      await assert.rejects(readBuildFile(dir, 'rel.Dockerfile', { what: 'Dockerfile' }), contextError(/rel\.Dockerfile points outside of the build context/));
      await assert.rejects(readBuildFile(dir, 'sub/up/host/shadow', { what: 'Dockerfile' }), contextError(/points outside of the build context/));
      await assert.rejects(readBuildFile(dir, '../host/shadow', { what: 'Dockerfile' }), contextError(/outside of the build context/));
      // A symlink inside the context is followed, as for COPY sources.
      assert.equal(await readBuildFile(dir, 'in.Dockerfile', { what: 'Dockerfile' }), 'FROM scratch\n');
      assert.equal(await readBuildFile(dir, 'missing', { what: 'Dockerfile' }), undefined);
    });

    it('refuses a FIFO at once (does not block on it)', async () => {
      const dir = await ctx('unit-fifo', {});
      execFileSync('mkfifo', [path.join(dir, 'Dockerfile')]);
      const timer = new Promise((_, reject) => setTimeout(() => reject(new Error('readBuildFile blocked on a FIFO')), 5000).unref());
      await assert.rejects(Promise.race([readBuildFile(dir, 'Dockerfile', { what: 'Dockerfile' }), timer]), contextError(/the Dockerfile Dockerfile is a FIFO, not a regular file/));
    });

    it('refuses a device node', { skip: notRoot }, async () => {
      const dir = await ctx('unit-dev', {});
      execFileSync('mknod', [path.join(dir, 'Dockerfile'), 'c', '1', '5']); // /dev/zero: reading it never ends
      await assert.rejects(readBuildFile(dir, 'Dockerfile', { what: 'Dockerfile' }), contextError(/is a character device, not a regular file/));
    });

    it('refuses content that is not text, without showing it, and files over the size cap', async () => {
      const dir = await ctx('unit-binary', {});
      await writeFile(path.join(dir, 'Dockerfile'), binary);
      await writeFile(path.join(dir, 'bad-utf8'), notUtf8);
      await writeFile(path.join(dir, 'big'), Buffer.alloc(MAX_BUILD_FILE_BYTES + 1, 0x20));
      await assert.rejects(readBuildFile(dir, 'Dockerfile', { what: 'Dockerfile' }), contextError(/is not a text file \(a NUL byte at offset \d+\)/));
      await assert.rejects(readBuildFile(dir, 'bad-utf8', { what: 'Dockerfile' }), contextError(/is not a text file \(it is not valid UTF-8\)/));
      await assert.rejects(readBuildFile(dir, 'big', { what: 'Dockerfile' }), contextError(/is larger than 16 MiB/));
    });

    it('reads an explicit path outside the context as given, and one inside (also through another path to it) inside it', async () => {
      const dir = await ctx('unit-at', { 'Dockerfile': '->' + shadow });
      await writeFile(path.join(tmp, 'outside.Dockerfile'), 'FROM scratch\n');
      assert.equal(await readBuildFileAt(dir, path.join(tmp, 'outside.Dockerfile'), { what: 'Dockerfile' }), 'FROM scratch\n');
      await assert.rejects(readBuildFileAt(dir, path.join(dir, 'Dockerfile'), { what: 'Dockerfile' }), contextError(/points outside of the build context/));
      // The same context reached through a symlinked directory is still the context.
      await symlink(dir, path.join(tmp, 'unit-at-alias'));
      await assert.rejects(readBuildFileAt(dir, path.join(tmp, 'unit-at-alias', 'Dockerfile'), { what: 'Dockerfile' }), contextError(/points outside of the build context/));
    });

    it('BuildContext.open refuses a .dockerignore or <Dockerfile>.dockerignore that points outside', async () => {
      const a = await ctx('unit-ign', { 'Dockerfile': 'FROM scratch\n', '.dockerignore': '->' + shadow });
      await assert.rejects(BuildContext.open(a), contextError(/the ignore file \.dockerignore points outside of the build context/));
      const b = await ctx('unit-ign2', { 'app.Dockerfile': 'FROM scratch\n', 'app.Dockerfile.dockerignore': '->../host/shadow' });
      await assert.rejects(BuildContext.open(b, { dockerfilePath: 'app.Dockerfile' }), contextError(/the ignore file app\.Dockerfile\.dockerignore points outside/));
      const c = await ctx('unit-ign3', { 'Dockerfile': 'FROM scratch\n' });
      execFileSync('mkfifo', [path.join(c, '.dockerignore')]);
      await assert.rejects(BuildContext.open(c), contextError(/the ignore file \.dockerignore is a FIFO/));
    });
  });

  describe('mybuild build (daemonless)', () => {
    it('a Dockerfile symlinked to a host file is refused and its content never printed', async () => {
      const dir = await ctx('cli-df', { 'Dockerfile': '->' + shadow });
      assertRefused(await mybuild(['--root', root, 'build', dir]), /the Dockerfile .*Dockerfile points outside of the build context/);
      const rel = await ctx('cli-df-rel', { 'Dockerfile': '->../host/shadow' });
      assertRefused(await mybuild(['--root', root, 'build', rel]), /points outside of the build context/);
    });

    it('-f naming a symlink inside the context is refused; -f naming a file outside the context is read as given', async () => {
      const dir = await ctx('cli-f', { 'build/app.Dockerfile': '->' + shadow, 'Dockerfile': 'FROM scratch\n' });
      assertRefused(await mybuild(['--root', root, 'build', '-f', path.join(dir, 'build', 'app.Dockerfile'), dir]), /the Dockerfile .*app\.Dockerfile points outside of the build context/);
      assertRefused(await mybuild(['--root', root, 'build', '-f', 'build/app.Dockerfile', '.'], { cwd: dir }), /build\/app\.Dockerfile points outside of the build context/);
      await writeFile(path.join(tmp, 'elsewhere.Dockerfile'), 'FROM scratch\nLABEL from=elsewhere\n');
      const ok = await mybuild(['--root', root, 'build', '-q', '-f', path.join(tmp, 'elsewhere.Dockerfile'), dir]);
      assert.equal(ok.code, 0, ok.out);
    });

    it('a .dockerignore or <Dockerfile>.dockerignore symlinked to a host file is refused', async () => {
      const a = await ctx('cli-ign', { 'Dockerfile': 'FROM scratch\nCOPY Dockerfile /\n', '.dockerignore': '->' + shadow });
      assertRefused(await mybuild(['--root', root, 'build', a]), /the ignore file \.dockerignore points outside of the build context/);
      const b = await ctx('cli-ign2', { 'app.Dockerfile': 'FROM scratch\nCOPY app.Dockerfile /\n', 'app.Dockerfile.dockerignore': '->' + shadow });
      assertRefused(await mybuild(['--root', root, 'build', '-f', path.join(b, 'app.Dockerfile'), b]), /the ignore file app\.Dockerfile\.dockerignore points outside/);
    });

    it('a FIFO as the Dockerfile or .dockerignore fails fast instead of hanging', async () => {
      const a = await ctx('cli-fifo', {});
      execFileSync('mkfifo', [path.join(a, 'Dockerfile')]);
      assertRefused(await mybuild(['--root', root, 'build', a], { timeoutMs: 20_000 }), /the Dockerfile .*Dockerfile is a FIFO, not a regular file/);
      const b = await ctx('cli-fifo-ign', { 'Dockerfile': 'FROM scratch\nCOPY Dockerfile /\n' });
      execFileSync('mkfifo', [path.join(b, '.dockerignore')]);
      assertRefused(await mybuild(['--root', root, 'build', b], { timeoutMs: 20_000 }), /the ignore file \.dockerignore is a FIFO/);
    });

    it('a binary or non-UTF-8 Dockerfile is refused without echoing it', async () => {
      const a = await ctx('cli-bin', {});
      await writeFile(path.join(a, 'Dockerfile'), binary);
      assertRefused(await mybuild(['--root', root, 'build', a]), /the Dockerfile .*Dockerfile is not a text file/);
      await writeFile(path.join(a, 'Dockerfile'), notUtf8);
      assertRefused(await mybuild(['--root', root, 'build', a]), /is not a text file \(it is not valid UTF-8\)/);
    });
  });

  describe('mybuild parse', () => {
    it('reads ./Dockerfile as a build does: a symlink out, a FIFO and a binary file are refused, unshown', async () => {
      const dir = await ctx('parse-link', { 'Dockerfile': '->' + shadow });
      assertRefused(await mybuild(['parse'], { cwd: dir }), /the Dockerfile Dockerfile points outside of the build context/);
      assertRefused(await mybuild(['parse', '-f', 'Dockerfile'], { cwd: dir }), /points outside of the build context/);
      const fifo = await ctx('parse-fifo', {});
      execFileSync('mkfifo', [path.join(fifo, 'Dockerfile')]);
      assertRefused(await mybuild(['parse'], { cwd: fifo, timeoutMs: 20_000 }), /the Dockerfile Dockerfile is a FIFO/);
      const bin = await ctx('parse-bin', {});
      await writeFile(path.join(bin, 'Dockerfile'), binary);
      assertRefused(await mybuild(['parse'], { cwd: bin }), /is not a text file/);
    });
  });

  describe('through the daemon', { skip: notRoot }, () => {
    let d: TestDaemon;
    before(async () => {
      d = await startTestDaemon();
    });
    after(async () => {
      await d?.stop();
    });

    it('mybuild -H: symlinked Dockerfile and .dockerignore, FIFO and binary Dockerfile are refused', async () => {
      const remote = (dir: string) => mybuild(['-H', d.host, 'build', '.'], { cwd: dir, timeoutMs: 30_000 });
      assertRefused(await remote(await ctx('h-df', { 'Dockerfile': '->' + shadow })), /the Dockerfile Dockerfile points outside of the build context/);
      assertRefused(await remote(await ctx('h-ign', { 'Dockerfile': 'FROM scratch\nCOPY Dockerfile /\n', '.dockerignore': '->' + shadow })), /the ignore file \.dockerignore points outside/);
      const fifo = await ctx('h-fifo', {});
      execFileSync('mkfifo', [path.join(fifo, 'Dockerfile')]);
      assertRefused(await remote(fifo), /the Dockerfile Dockerfile is a FIFO/);
      const bin = await ctx('h-bin', {});
      await writeFile(path.join(bin, 'Dockerfile'), binary);
      assertRefused(await remote(bin), /the Dockerfile Dockerfile is not a text file/);
    });

    it('docker build - < ctx.tar: the daemon refuses build files in the tar that point at host files', { skip: dockerMissing }, async () => {
      const docker = (args: string[], input: Buffer) => run(DOCKER, args, { input, env: { DOCKER_HOST: d.host, DOCKER_BUILDKIT: '0', DOCKER_CONFIG: path.join(d.dir, 'docker-config') }, timeoutMs: 60_000 });
      assertRefused(await docker(['build', '-'], await tarOf([{ name: 'Dockerfile', type: 'symlink', linkname: shadow }])), /the Dockerfile Dockerfile points outside of the build context/);
      assertRefused(await docker(['build', '-'], await tarOf([{ name: 'Dockerfile', type: 'symlink', linkname: '../../../../../../../../..' + shadow }])), /points outside of the build context/);
      assertRefused(await docker(['build', '-f', 'sub/app.Dockerfile', '-'], await tarOf([{ name: 'sub/app.Dockerfile', type: 'symlink', linkname: shadow }])), /the Dockerfile sub\/app\.Dockerfile points outside/);
      assertRefused(
        await docker(['build', '-'], await tarOf([{ name: 'Dockerfile', data: 'FROM scratch\nCOPY Dockerfile /\n' }, { name: '.dockerignore', type: 'symlink', linkname: shadow }])),
        /the ignore file \.dockerignore points outside/,
      );
      assertRefused(await docker(['build', '-'], await tarOf([{ name: 'Dockerfile', data: binary }])), /the Dockerfile Dockerfile is not a text file/);
      // A well-formed tar still builds.
      const ok = await docker(['build', '-q', '-'], await tarOf([{ name: 'Dockerfile', data: 'FROM scratch\nCOPY Dockerfile /\n' }]));
      assert.equal(ok.code, 0, ok.out);
    });
  });
});

describe('readDockerfile: the lowercase fallback', () => {
  it('a context with only "dockerfile" is read for the default name (also -f Dockerfile), not for another -f', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'mybuild-lower-'));
    try {
      await writeFile(path.join(dir, 'dockerfile'), 'FROM scratch\n');
      assert.equal(await readDockerfile(dir, undefined), 'FROM scratch\n');
      assert.equal(await readDockerfile(dir, path.join(dir, 'Dockerfile'), 'Dockerfile'), 'FROM scratch\n');
      await assert.rejects(readDockerfile(dir, path.join(dir, 'Other'), 'Other'), /cannot read the Dockerfile: Other does not exist/);
      await writeFile(path.join(dir, 'Dockerfile'), 'FROM busybox\n');
      assert.equal(await readDockerfile(dir, undefined), 'FROM busybox\n', 'Dockerfile wins when both exist');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

/**
 * The installed command: the sh launcher (dist/bin/mybuild) and the loader that compiles the
 * bundle from V8's code cache (dist/bin/mybuild.cjs). See scripts/bundle-cli.mjs.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, chownSync, utimesSync, symlinkSync, writeFileSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { binPath, cliPath } from '../helpers/paths.js';

const execFileP = promisify(execFile);
const missing = existsSync(binPath) && existsSync(cliPath) ? false : `${binPath} is not built (npm run build)`;

describe('dist/bin/mybuild (sh launcher)', { skip: missing }, () => {
  let tmp: string;
  before(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'mybuild-launcher-'));
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('hands NODE_EXTRA_CA_CERTS over as MYBUILD_EXTRA_CA_CERTS and runs the loader beside its real path', async () => {
    // A stand-in `node` first on PATH shows what the launcher executes and with which env.
    const fakeBin = path.join(tmp, 'fake-bin');
    mkdirSync(fakeBin);
    writeFileSync(path.join(fakeBin, 'node'), '#!/bin/sh\necho "node=${NODE_EXTRA_CA_CERTS-unset} mybuild=${MYBUILD_EXTRA_CA_CERTS-unset} script=$1 args=$2,$3"\n', { mode: 0o755 });
    // Called through a symlink elsewhere, as npm installs bins.
    const link = path.join(tmp, 'link', 'mybuild');
    mkdirSync(path.dirname(link));
    symlinkSync(binPath, link);
    const env = { PATH: `${fakeBin}:/usr/bin:/bin`, NODE_EXTRA_CA_CERTS: '/some/ca.pem' };
    const { stdout } = await execFileP(link, ['build', 'two words'], { env });
    assert.equal(stdout.trim(), `node=unset mybuild=/some/ca.pem script=${cliPath} args=build,two words`);
    const plain = await execFileP(binPath, ['version'], { env: { PATH: env.PATH } });
    assert.equal(plain.stdout.trim(), `node=unset mybuild=unset script=${cliPath} args=version,`);
  });

  it('runs mybuild', async () => {
    const { stdout } = await execFileP(binPath, ['version'], { env: { ...process.env, XDG_CACHE_HOME: path.join(tmp, 'cache0') } });
    assert.match(stdout, /^Client:\n Version: +\d+\.\d+\.\d+/);
  });
});

describe('dist/bin/mybuild.cjs (code-cache loader)', { skip: missing }, () => {
  let tmp: string;
  before(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'mybuild-loader-'));
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  const version = async (cacheHome: string, extra: NodeJS.ProcessEnv = {}): Promise<string> =>
    (await execFileP(process.execPath, [cliPath, '--root', path.join(tmp, 'root'), 'version'], { env: { ...process.env, XDG_CACHE_HOME: cacheHome, ...extra } })).stdout;
  const files = (cacheHome: string): string[] => {
    const dir = path.join(cacheHome, 'mybuild', 'code-cache');
    return existsSync(dir) ? readdirSync(dir) : [];
  };

  it('writes one cache per command on the first run (0600 in a 0700 folder) and reuses it', async () => {
    const home = path.join(tmp, 'c1');
    const first = await version(home);
    const [name, ...rest] = files(home);
    assert.deepEqual(rest, []);
    assert.match(name, new RegExp(`^[0-9a-f]{16}-${process.version.replace(/\./g, '\\.')}-${process.arch}-version\\.bin$`));
    const file = path.join(home, 'mybuild', 'code-cache', name);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(statSync(path.dirname(file)).mode & 0o777, 0o700);
    const before = statSync(file).mtimeMs;
    assert.equal(await version(home), first);
    // Accepted, so not written again.
    assert.equal(statSync(file).mtimeMs, before);
    assert.deepEqual(files(home), [name]);
  });

  it('a failed run writes no cache; the next successful run of that command does', async () => {
    const home = path.join(tmp, 'c5');
    const env = { ...process.env, XDG_CACHE_HOME: home };
    await assert.rejects(execFileP(process.execPath, [cliPath, '--root', path.join(tmp, 'root'), 'images', '--no-such-flag'], { env }));
    assert.deepEqual(files(home), []);
    await execFileP(process.execPath, [cliPath, '--root', path.join(tmp, 'root'), 'images'], { env });
    assert.equal(files(home).length, 1);
    assert.match(files(home)[0], /-images\.bin$/);
  });

  it('a corrupt cache is rejected by V8 and rewritten; the command still works', async () => {
    const home = path.join(tmp, 'c2');
    const good = await version(home);
    const file = path.join(home, 'mybuild', 'code-cache', files(home)[0]);
    const size = statSync(file).size;
    writeFileSync(file, Buffer.alloc(size, 0x5a));
    assert.equal(await version(home), good);
    assert.notDeepEqual(readFileSync(file), Buffer.alloc(size, 0x5a));
  });

  it("another user's file is not used (it is replaced); other bundles' caches are removed once unused for 7 days, not before", async (t) => {
    if (process.getuid?.() !== 0) return t.skip('needs root to chown');
    const home = path.join(tmp, 'c3');
    const good = await version(home);
    const dir = path.join(home, 'mybuild', 'code-cache');
    const file = path.join(dir, files(home)[0]);
    chownSync(file, 65534, 65534);
    const stale = path.join(dir, '0000000000000000-v0-x64-build.bin');
    const recent = path.join(dir, '1111111111111111-v0-x64-build.bin');
    writeFileSync(stale, 'old bundle');
    const eightDaysAgo = new Date(Date.now() - 8 * 24 * 3600 * 1000);
    utimesSync(stale, eightDaysAgo, eightDaysAgo);
    // Another install used in turn with this one (a before/after benchmark): its cache stays.
    writeFileSync(recent, 'other install');
    assert.equal(await version(home), good);
    assert.equal(statSync(file).uid, 0);
    assert.deepEqual(files(home).sort(), [path.basename(recent), path.basename(file)].sort());
  });

  it('a build is the same with the code cache cold and warm (COPY and ADD heredocs), and prints no Node warning', async () => {
    // Issue: with a warm cache every COPY <<EOF failed (ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING)
    // and a cold one printed an ExperimentalWarning.
    const home = path.join(tmp, 'c6');
    const ctx = path.join(tmp, 'heredoc-ctx');
    mkdirSync(ctx, { recursive: true });
    writeFileSync(path.join(ctx, 'Dockerfile'), 'FROM scratch\nCOPY <<EOF /a.txt\nhello\nEOF\nADD <<EOT /b.txt\nworld\nEOT\n');
    const runs: { stdout: string; stderr: string }[] = [];
    for (let i = 0; i < 3; i++) {
      runs.push(await execFileP(process.execPath, [cliPath, '--root', path.join(tmp, 'root-heredoc'), 'build', '--no-cache', '-q', ctx], {
        env: { ...process.env, XDG_CACHE_HOME: home, SOURCE_DATE_EPOCH: '0' },
      }));
      if (i === 0) assert.equal(files(home).length, 1, 'the first (cold) run wrote the cache');
    }
    for (const r of runs) {
      assert.match(r.stdout.trim(), /^sha256:[0-9a-f]{64}$/);
      assert.equal(r.stdout, runs[0].stdout);
      assert.doesNotMatch(r.stderr, /Warning|ERR_/);
    }
  });

  it('MYBUILD_CODE_CACHE=0 or an unwritable home: no cache, same output', async () => {
    const home = path.join(tmp, 'c4');
    const good = await version(home, { MYBUILD_CODE_CACHE: '0' });
    assert.deepEqual(files(home), []);
    mkdirSync(home);
    writeFileSync(path.join(home, 'mybuild'), 'a file where the folder would go');
    chmodSync(home, 0o500);
    assert.equal(await version(home), good);
  });
});

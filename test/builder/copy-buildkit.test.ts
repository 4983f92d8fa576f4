/**
 * COPY and ADD at the edges where mybuild differed from current BuildKit (issue 16): heredoc
 * file modes, the errors for URLs and unsupported checksums, ONBUILD COPY --from, empty
 * wildcards, symbolic --chmod, destinations that are symlinks, Unix sockets. Real builds (runc,
 * overlay snapshots); the rootfs is read back from a `type=local` output.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmodSync, lstatSync, readFileSync, readlinkSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { buildContext, buildFiles, buildSkipReason, cleanupTemp, makeStoreRoot, tempDir, writeContext, type ContextFile } from '../helpers/build.js';
import { runCli } from '../helpers/cli.js';
import { EXIT_CODES } from '../../src/errors.js';

const skip = buildSkipReason();

const modeOf = (p: string) => (lstatSync(p).mode & 0o7777).toString(8);

describe('builder: COPY/ADD as BuildKit', { skip }, () => {
  let root: string;
  before(async () => {
    root = await makeStoreRoot();
  });
  after(cleanupTemp);

  /** The CLI's build of `files`: exit code and stderr. */
  async function cliBuild(files: Record<string, string>) {
    const ctx = await writeContext(files);
    return runCli(['--root', root, 'build', '--progress', 'plain', ctx], { cwd: ctx, env: { PATH: process.env.PATH } });
  }

  async function rootfs(files: Record<string, ContextFile>): Promise<string> {
    const out = await tempDir('mybuild-copybk-');
    await buildFiles(root, files, { outputs: [{ type: 'local', dest: out }] });
    return out;
  }

  it('COPY <<EOF and ADD <<EOF write 0644 files (BuildKit since dockerfile/1.6); --chmod still applies', async () => {
    const out = await rootfs({
      Dockerfile: 'FROM scratch\nCOPY <<EOT /etc/app.conf\nhello\nEOT\nADD <<A <<B /multi/\na\nA\nb\nB\nCOPY --chmod=0600 <<C /c\nc\nC\n',
    });
    assert.equal(modeOf(path.join(out, 'etc/app.conf')), '644');
    assert.equal(modeOf(path.join(out, 'multi/A')), '644');
    assert.equal(modeOf(path.join(out, 'multi/B')), '644');
    assert.equal(readFileSync(path.join(out, 'multi/B'), 'utf8'), 'b\n');
    assert.equal(modeOf(path.join(out, 'c')), '600');
  });

  // BuildKit: dockerfile2llb's TestDockerfileParsing ("source can't be a URL for COPY") and
  // dockerfile_add_test.go testAddURLChecksum (DigestWithKnownButUnsupportedAlgoName, …).
  const refused: { name: string; dockerfile: string; want: RegExp[] }[] = [
    { name: 'COPY of a URL', dockerfile: 'FROM scratch\nCOPY http://127.0.0.1:1/README.md /\n', want: [/Dockerfile:2:6/, /source can't be a URL for COPY/] },
    { name: 'COPY of a URL from a variable', dockerfile: 'FROM busybox\nARG U=https://127.0.0.1:1/x\nRUN true\nCOPY f $U /d/\n', want: [/Dockerfile:4:1/, /source can't be a URL for COPY/] },
    { name: 'ADD --checksum=md5:…', dockerfile: 'FROM scratch\nADD --checksum=md5:7e55db001d319a94b0b713529a756623 http://127.0.0.1:1/foo /tmp/foo\n', want: [/Dockerfile:2:5/, /unsupported digest algorithm/] },
    { name: 'ADD --checksum=unknown:…', dockerfile: `FROM scratch\nADD --checksum=unknown:${'a'.repeat(64)} http://127.0.0.1:1/foo /tmp/foo\n`, want: [/Dockerfile:2:5/, /unsupported digest algorithm/] },
    { name: 'ADD --checksum without an algorithm', dockerfile: `FROM scratch\nADD --checksum=${'a'.repeat(64)} http://127.0.0.1:1/foo /tmp/foo\n`, want: [/Dockerfile:2:5/, /invalid checksum digest format/] },
    { name: 'ADD --checksum=sha256 of the wrong length', dockerfile: 'FROM scratch\nADD --checksum=sha256:abc http://127.0.0.1:1/foo /tmp/foo\n', want: [/Dockerfile:2:5/, /invalid checksum digest length/] },
    { name: 'ADD --checksum=${D} expanded, then checked', dockerfile: 'FROM busybox\nENV D=md5:7e55db001d319a94b0b713529a756623\nADD --checksum=${D} http://127.0.0.1:1/foo /tmp/foo\n', want: [/Dockerfile:3:5/, /md5:7e55db001d319a94b0b713529a756623: unsupported digest algorithm/] },
    { name: 'COPY of a git repository', dockerfile: 'FROM scratch\nCOPY git@127.0.0.1:foo/bar.git /x\n', want: [/Dockerfile:2:6/, /source can't be a git ref for COPY/] },
    { name: 'ADD of an ssh git repository from a variable (no --ssh)', dockerfile: 'FROM busybox\nARG R=git@127.0.0.1:foo/repo.git\nADD $R /x\n', want: [/Dockerfile:3:1/, /over ssh needs an SSH agent forwarded with --ssh/] },
    { name: 'ADD --checksum of a local file', dockerfile: `FROM scratch\nADD --checksum=sha256:${'a'.repeat(64)} f /tmp/foo\n`, want: [/Dockerfile:2:5/, /checksum requires HTTP\(S\) or Git sources/] },
  ];
  for (const c of refused) {
    it(`refused with a clear error at its position: ${c.name}`, async () => {
      const r = await cliBuild({ Dockerfile: c.dockerfile, f: 'x' });
      assert.equal(r.code, EXIT_CODES.PLAN, `exit code; stderr:\n${r.err}`);
      for (const w of c.want) assert.match(r.err, w);
      assert.doesNotMatch(r.err, /^\s+at .+:\d+:\d+\)?$/m, 'no stack trace');
    });
  }

  it('ADD --checksum verifies sha384 and sha512 digests too (go-digest\'s algorithms)', async () => {
    const body = 'served on 127.0.0.1\n';
    const server = http.createServer((_req, res) => res.end(body));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/data.txt`;
      const d = (alg: string) => `${alg}:${createHash(alg).update(body).digest('hex')}`;
      const out = await rootfs({ Dockerfile: `FROM scratch\nADD --checksum=${d('sha512')} ${url} /a\nADD --checksum=${d('sha384')} ${url} /b\n` });
      assert.equal(readFileSync(path.join(out, 'a'), 'utf8'), body);
      assert.equal(readFileSync(path.join(out, 'b'), 'utf8'), body);
      const bad = `sha512:${'0'.repeat(128)}`;
      await assert.rejects(buildFiles(root, { Dockerfile: `FROM scratch\nADD --checksum=${bad} ${url} /a\n` }), (err: Error) => err.message.includes('checksum mismatch') && err.message.includes(d('sha512')));
    } finally {
      server.close();
    }
  });

  it('ONBUILD COPY --from=<stage> resolves the stage in the build that runs the trigger (testOnBuildInheritedStageWithFrom)', async () => {
    const out = await rootfs({
      Dockerfile: [
        'FROM busybox AS src',
        'RUN mkdir -p /in && echo -n 12 > /in/file',
        'FROM busybox AS base',
        'ONBUILD COPY --from=src /in/file /out/foo',
        'FROM base AS mid',
        'RUN cp /out/foo /out/bar',
        'FROM scratch',
        'COPY --from=mid /out/bar /',
        '',
      ].join('\n'),
    });
    assert.equal(readFileSync(path.join(out, 'bar'), 'utf8'), '12');
  });

  it('ONBUILD COPY --from naming the stage that runs it is a circular dependency, not a hang', async () => {
    await assert.rejects(
      buildFiles(root, { Dockerfile: 'FROM busybox AS base\nONBUILD COPY --from=mid /etc/passwd /p\nFROM base AS mid\nRUN true\n' }),
      /circular dependency detected on stage: mid/,
    );
  });

  it('ONBUILD COPY --from of an image built earlier names a stage of the child Dockerfile (testOnBuildNamedContext)', async () => {
    await buildFiles(root, { Dockerfile: 'FROM busybox\nONBUILD COPY --from=otherstage /testfile /out/foo\n' }, { tags: ['onbuild-parent:1'] });
    const out = await rootfs({ Dockerfile: 'FROM busybox AS otherstage\nRUN echo -n from-child > /testfile\nFROM onbuild-parent:1 AS inputstage\nFROM scratch\nCOPY --from=inputstage /out/foo /bar\n' });
    assert.equal(readFileSync(path.join(out, 'bar'), 'utf8'), 'from-child');
  });

  it('a wildcard that matches nothing is not an error, beside other sources or alone (testEmptyWildcard)', async () => {
    const out = await rootfs({ Dockerfile: 'FROM scratch\nCOPY foo nomatch* /\nCOPY nomatch* /empty/\nCOPY --from=busybox /bin/nomatch* /bin/busybox /b/\n', foo: 'contents0' });
    assert.equal(readFileSync(path.join(out, 'foo'), 'utf8'), 'contents0');
    assert.ok(lstatSync(path.join(out, 'b', 'busybox')).isFile());
    // A wildcard under a missing directory, or a literal path, is still not found.
    await assert.rejects(buildFiles(root, { Dockerfile: 'FROM scratch\nCOPY foo nodir/*.txt /d/\n', foo: 'x' }), /"\/nodir\/\*\.txt": not found/);
    await assert.rejects(buildFiles(root, { Dockerfile: 'FROM scratch\nCOPY foo nothere /d/\n', foo: 'x' }), /"\/nothere": not found/);
  });

  it('ADD with one glob over directories into a path without a slash merges them; --exclude=* leaves nothing (testExcludedFilesOnCopy builder5/6)', async () => {
    const ctx: Record<string, ContextFile> = {
      'dir1/file-101.png': '2', 'dir1/file-102.txt': '3', 'dir2/file-201.pdf': '6', 'dir3/file-302.mpeg': '10', 'dir4/file-401.txt': '11',
    };
    const out = await rootfs({ ...ctx, Dockerfile: 'FROM scratch\nADD --exclude=*.mp* --exclude=*.png --exclude=*.pdf dir* /5\nADD --exclude=* dir* /6\n' });
    assert.equal(readFileSync(path.join(out, '5', 'file-102.txt'), 'utf8'), '3');
    assert.equal(readFileSync(path.join(out, '5', 'file-401.txt'), 'utf8'), '11');
    for (const gone of ['file-101.png', 'file-201.pdf', 'file-302.mpeg']) assert.throws(() => lstatSync(path.join(out, '5', gone)), gone);
    assert.throws(() => lstatSync(path.join(out, '6', 'file-102.txt')));
  });

  it('symbolic --chmod (Dockerfile 1.14) applies per file relative to its mode, X for directories; octal still replaces the mode', async () => {
    const ctx = await writeContext({
      Dockerfile: [
        'FROM scratch',
        'COPY --chmod=u+x,g-w f /f',
        'COPY --chmod=a+X,go-w d/ /d/',
        'COPY --chmod=u=rwx,go=u-w f /g',
        'COPY --chmod=go= d/exe /h',
        'COPY --chmod=u+x <<EOT /heredoc',
        'x',
        'EOT',
        'COPY --chmod=0640 d/ /o/',
        '',
      ].join('\n'),
      f: { content: 'f', mode: 0o664 },
      'd/file': { content: 'file', mode: 0o664 },
      'd/exe': { content: 'exe', mode: 0o775 },
      'd/sub/inner': { content: 'inner', mode: 0o666 },
      'd/link': { symlink: 'file' },
    });
    chmodSync(path.join(ctx, 'd', 'sub'), 0o775);
    const out = await tempDir('mybuild-copybk-');
    await buildContext(root, ctx, { outputs: [{ type: 'local', dest: out }] });
    assert.equal(modeOf(path.join(out, 'f')), '744');
    assert.equal(modeOf(path.join(out, 'd/file')), '644');
    assert.equal(modeOf(path.join(out, 'd/exe')), '755');
    assert.equal(modeOf(path.join(out, 'd/sub')), '755', 'X sets execute on a directory');
    assert.equal(modeOf(path.join(out, 'd/sub/inner')), '644', 'X does not make a plain file executable');
    assert.equal(readlinkSync(path.join(out, 'd/link')), 'file');
    assert.equal(modeOf(path.join(out, 'g')), '755');
    assert.equal(modeOf(path.join(out, 'h')), '700');
    assert.equal(modeOf(path.join(out, 'heredoc')), '744', 'a heredoc is 0644 before --chmod');
    assert.equal(modeOf(path.join(out, 'o/exe')), '640');
    assert.equal(modeOf(path.join(out, 'o/sub')), '640');
  });

  // BuildKit's testCopyInvalidChmod, and a symbolic mode that does not parse.
  const badChmod: { value: string; want: RegExp }[] = [
    { value: '64a', want: /invalid chmod parameter: '64a'\. it should be octal string and between 0 and 07777/ },
    { value: '10000', want: /invalid chmod parameter: '10000'\. it should be octal string and between 0 and 07777/ },
    { value: 'u+q', want: /invalid chmod parameter: 'u\+q': invalid syntax/ },
  ];
  for (const c of badChmod) {
    it(`--chmod=${c.value} is refused with BuildKit's message at the flag`, async () => {
      const r = await cliBuild({ Dockerfile: `FROM scratch\nCOPY --chmod=${c.value} foo /\n`, foo: 'x' });
      assert.equal(r.code, EXIT_CODES.PLAN, r.err);
      assert.match(r.err, c.want);
      assert.match(r.err, /Dockerfile:2:6/);
    });
  }
  it('a --chmod from a variable is checked when the step runs', async () => {
    await assert.rejects(buildFiles(root, { Dockerfile: 'FROM scratch\nARG M=u+q\nCOPY --chmod=$M foo /\n', foo: 'x' }), /invalid chmod parameter: 'u\+q': invalid syntax/);
    const out = await rootfs({ Dockerfile: 'FROM scratch\nARG M=a+x\nCOPY --chmod=$M foo /foo\n', foo: { content: 'x', mode: 0o640 } });
    assert.equal(modeOf(path.join(out, 'foo')), '751');
  });

  it('a destination that is a symlink is followed inside the rootfs (absolute, relative, dangling, into /run, above /), never replaced', async () => {
    const out = await rootfs({
      Dockerfile: [
        'FROM busybox AS base',
        'COPY links/ /',
        'FROM base',
        'COPY f /abs/',
        'COPY f /rel/r.txt',
        'COPY f /dangling/',
        'COPY f /varrun/app/',
        'COPY f /up/escaped',
        'COPY d /abs/dir',
        'COPY <<EOT /abs/heredoc',
        'h',
        'EOT',
        'COPY f rel/relative-dest',
        '',
      ].join('\n'),
      f: 'file',
      'd/inner': 'inner',
      'links/real/.keep': '',
      'links/abs': { symlink: '/real' },
      'links/rel': { symlink: 'real' },
      'links/dangling': { symlink: '/nonexist/sub' },
      'links/varrun': { symlink: '../run' },
      'links/up': { symlink: '../../../../../etc' },
    });
    for (const l of ['abs', 'rel', 'dangling', 'varrun', 'up']) assert.ok(lstatSync(path.join(out, l)).isSymbolicLink(), `/${l} is still a symlink`);
    assert.equal(readFileSync(path.join(out, 'real', 'f'), 'utf8'), 'file');
    assert.equal(readFileSync(path.join(out, 'real', 'r.txt'), 'utf8'), 'file');
    assert.equal(readFileSync(path.join(out, 'nonexist', 'sub', 'f'), 'utf8'), 'file');
    assert.equal(readFileSync(path.join(out, 'run', 'app', 'f'), 'utf8'), 'file');
    assert.equal(readFileSync(path.join(out, 'etc', 'escaped'), 'utf8'), 'file', 'a link above / stays inside the rootfs');
    assert.equal(readFileSync(path.join(out, 'real', 'dir', 'inner'), 'utf8'), 'inner');
    assert.equal(readFileSync(path.join(out, 'real', 'heredoc'), 'utf8'), 'h\n');
    assert.equal(readFileSync(path.join(out, 'real', 'relative-dest'), 'utf8'), 'file');
  });

  it('ADD follows a symlink destination too: a URL into it, an archive extracted into it; a URL into an existing directory without a slash', async () => {
    const server = http.createServer((_req, res) => res.end('downloaded'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/dl.txt`;
      const ctx = await writeContext({
        Dockerfile: `FROM scratch\nCOPY links/ /\nADD ${url} /abs/\nADD ${url} /real\nADD a.tar /abs/unpacked/\n`,
        'links/real/.keep': '',
        'links/abs': { symlink: '/real' },
        'tarsrc/in-archive.txt': 'archived',
      });
      const { execFileSync } = await import('node:child_process');
      execFileSync('tar', ['-cf', path.join(ctx, 'a.tar'), '-C', path.join(ctx, 'tarsrc'), 'in-archive.txt']);
      const out = await tempDir('mybuild-copybk-');
      await buildContext(root, ctx, { outputs: [{ type: 'local', dest: out }] });
      assert.ok(lstatSync(path.join(out, 'abs')).isSymbolicLink());
      assert.equal(readFileSync(path.join(out, 'real', 'dl.txt'), 'utf8'), 'downloaded');
      assert.equal(readFileSync(path.join(out, 'real', 'unpacked', 'in-archive.txt'), 'utf8'), 'archived');
      assert.ok(lstatSync(path.join(out, 'real')).isDirectory());
    } finally {
      server.close();
    }
  });

  it('a Unix socket in the context is copied as an empty regular file with its mode (testCopySocket)', async () => {
    const ctx = await writeContext({ Dockerfile: 'FROM scratch\nCOPY . /\nCOPY sub/ /d/\nCOPY socket.sock /named\n', 'sub/keep': 'k' });
    const servers: net.Server[] = [];
    for (const p of ['socket.sock', 'sub/inner.sock']) {
      const server = net.createServer();
      await new Promise<void>((r) => server.listen(path.join(ctx, p), r));
      chmodSync(path.join(ctx, p), 0o600);
      servers.push(server);
    }
    try {
      const out = await tempDir('mybuild-copybk-');
      await buildContext(root, ctx, { outputs: [{ type: 'local', dest: out }] });
      for (const p of ['socket.sock', 'sub/inner.sock', 'd/inner.sock', 'named']) {
        const st = lstatSync(path.join(out, p));
        assert.ok(st.isFile(), `${p} is a regular file`);
        assert.equal(st.size, 0, p);
        assert.equal(modeOf(path.join(out, p)), '600', p);
      }
    } finally {
      for (const s of servers) s.close();
    }
  });

  it('heredocs are copied after the sources, each onto a non-directory destination (the last stays), into a directory one', async () => {
    const out = await rootfs({
      Dockerfile: 'FROM scratch\nCOPY <<A <<B /x\na\nA\nb\nB\nCOPY d <<C /y\nc\nC\nCOPY <<D <<E /z/\nd\nD\ne\nE\n',
      'd/inner': 'i',
    });
    assert.ok(lstatSync(path.join(out, 'x')).isFile());
    assert.equal(readFileSync(path.join(out, 'x'), 'utf8'), 'b\n');
    assert.equal(readFileSync(path.join(out, 'y', 'C'), 'utf8'), 'c\n', 'a directory source made /y a directory');
    assert.equal(readFileSync(path.join(out, 'y', 'inner'), 'utf8'), 'i');
    assert.equal(readFileSync(path.join(out, 'z', 'E'), 'utf8'), 'e\n');
  });

  it('a destination through a symlink loop is a clear error at the instruction', async () => {
    const ctx = await writeContext({ Dockerfile: 'FROM scratch\nCOPY loop/ /\nCOPY f /a/\n', f: 'x', 'loop/a': { symlink: '/b' }, 'loop/b': { symlink: '/a' } });
    const r = await runCli(['--root', root, 'build', '--progress', 'plain', ctx], { cwd: ctx, env: { PATH: process.env.PATH } });
    assert.equal(r.code, EXIT_CODES.PLAN, r.err);
    assert.match(r.err, /Dockerfile:3:1: destination "\/a\/": too many levels of symbolic links in the image/);
    assert.doesNotMatch(r.err, /^\s+at .+:\d+:\d+\)?$/m, 'no stack trace');
  });
});

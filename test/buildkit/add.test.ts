/**
 * BuildKit's ADD tests (frontend/dockerfile/dockerfile_add_test.go) as cases: archives from the
 * context, ADD from a URL (a server on 127.0.0.1 in the test, as upstream's httpserver),
 * --chown/--chmod/--unpack/--checksum.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { runCases, tarball, type Case } from './harness.js';

const sha256 = (s: string | Buffer): string => `sha256:${createHash('sha256').update(s).digest('hex')}`;
const yesterday = new Date(Math.floor(Date.now() / 1000 - 86400) * 1000);
const fooTar = () => tarball([{ name: 'foo', content: 'content0', mode: 0o644 }]);
const fooTgz = () => tarball([{ name: 'foo', content: 'content0', mode: 0o644 }], true);
let tgz: Buffer;
const tgzReady = fooTgz().then((b) => (tgz = b));

const archive = (sub: string, dockerfile: string, files: Case['files'], extra: Partial<Case> = {}): Case => ({
  name: `testDockerfileAddArchive/${sub}`,
  dockerfile,
  context: async () => ({ 't.tar': { content: await fooTar() }, 't.tar.gz': { content: await tgzReady } }),
  files,
  ...extra,
});

const cases: Case[] = [
  {
    name: 'testDockerfileADDFromURL/named',
    what: 'ADD of a URL into a dir names the file by the URL path; a rebuild revalidates',
    dockerfile: 'FROM scratch\nADD {{URL}}/foo /dest/\n',
    http: { '/foo': { content: 'content1', etag: 'e-foo' } },
    files: { 'dest/foo': 'content1' },
    builds: [
      {
        files: { 'dest/foo': 'content1' },
        // upstream: the second build sends HEAD (with the ETag) after the first build's GET
        check: (r) => assert.deepEqual(r.requests.map((q) => q.method), ['GET', 'HEAD']),
      },
    ],
  },
  {
    name: 'testDockerfileADDFromURL/unnamed',
    what: 'a URL without a file name gives __unnamed__ with the Last-Modified time',
    dockerfile: 'FROM scratch\nADD {{URL}}/ /dest/\n',
    http: { '/': { content: 'content2', lastModified: yesterday } },
    files: { 'dest/__unnamed__': 'content2' },
    check: async (r) => assert.equal((await stat(path.join(r.out, 'dest/__unnamed__'))).mtime.toUTCString(), yesterday.toUTCString()),
  },
  archive('tar', 'FROM scratch\nADD t.tar /\n', { foo: 'content0' }),
  archive('tar.gz', 'FROM scratch\nADD t.tar.gz /\n', { foo: 'content0' }),
  {
    ...archive('unpack=false', 'FROM scratch\nADD --unpack=false t.tar.gz /\n', { foo: null }),
    check: async (r) => assert.equal((await stat(path.join(r.out, 't.tar.gz'))).size, tgz.length),
  },
  {
    ...archive('COPY does not extract', 'FROM scratch\nCOPY t.tar.gz /\n', { foo: null }),
    check: async (r) => assert.equal((await stat(path.join(r.out, 't.tar.gz'))).size, tgz.length),
  },
  {
    ...archive('URL is not extracted', 'FROM scratch\nADD {{URL}}/t.tar.gz /\n', { foo: null }),
    http: { get '/t.tar.gz'() { return { content: tgz }; } },
    check: async (r) => assert.equal((await stat(path.join(r.out, 't.tar.gz'))).size, tgz.length),
  },
  {
    ...archive('URL with --unpack=true', 'FROM scratch\nADD --unpack=true {{URL}}/t.tar.gz /dest/\n', { 'dest/foo': 'content0' }),
    http: { get '/t.tar.gz'() { return { content: tgz }; } },
  },
  {
    ...archive('URL to a new name', 'FROM scratch\nADD {{URL}}/t.tar.gz /newname.tar.gz\n', {}),
    http: { get '/t.tar.gz'() { return { content: tgz }; } },
    check: async (r) => assert.equal((await stat(path.join(r.out, 'newname.tar.gz'))).size, tgz.length),
  },
  {
    name: 'testDockerfileAddArchiveWithImpliedParentDir',
    dockerfile: 'FROM scratch\nADD t.tar.gz /\n',
    context: async () => ({ 't.tar.gz': { content: await tarball([{ name: 'etc/dnf/', type: 'directory', mode: 0o755 }, { name: 'etc/dnf/dnf.conf', content: 'content0' }], true) } }),
    files: { 'etc/dnf/dnf.conf': 'content0' },
  },
  {
    name: 'testDockerfileAddArchiveThroughAbsoluteSymlink',
    what: 'an archive extracted through an absolute symlink of an earlier layer lands under its target, hard links kept',
    dockerfile: 'FROM scratch\nADD rootfs.tar /\nADD payload.tar /\n',
    context: async () => ({
      'rootfs.tar': { content: await tarball([{ name: 'run/', type: 'directory', mode: 0o755 }, { name: 'var/', type: 'directory', mode: 0o755 }, { name: 'var/run', type: 'symlink', linkname: '/run', mode: 0o777 }]) },
      'payload.tar': {
        content: await tarball([
          { name: 'var/run/act/', type: 'directory', mode: 0o755 },
          { name: 'var/run/act/actions/', type: 'directory', mode: 0o755 },
          { name: 'var/run/act/actions/broad/', type: 'directory', mode: 0o755 },
          { name: 'var/run/act/actions/broad/.git/', type: 'directory', mode: 0o755 },
          { name: 'var/run/act/actions/broad/.git/HEAD', content: 'ref: refs/heads/main\n' },
          { name: 'var/run/act/actions/broad/.git/HEAD.link', type: 'link', linkname: 'var/run/act/actions/broad/.git/HEAD' },
        ]),
      },
    }),
    files: { 'run/act/actions/broad/.git/HEAD': 'ref: refs/heads/main\n', 'run/act/actions/broad/.git/HEAD.link': 'ref: refs/heads/main\n' },
    check: async (r) => {
      const a = await stat(path.join(r.out, 'run/act/actions/broad/.git/HEAD'));
      const b = await stat(path.join(r.out, 'run/act/actions/broad/.git/HEAD.link'));
      assert.equal(a.ino, b.ino, 'HEAD.link is a hard link of HEAD');
    },
    todo: 'issue 16: extracting payload.tar through the var/run -> /run symlink of the earlier layer does not put run/act/actions/broad/.git/HEAD under /run',
  },
  {
    name: 'testDockerfileAddChownArchive',
    what: 'ADD --chown of an archive owns the extracted files and the created dir',
    dockerfile: 'FROM scratch\nADD --chown=100:200 t.tar /out/\n',
    context: async () => ({ 't.tar': { content: await fooTar() } }),
    files: { 'out/foo': { content: 'content0', uid: 100, gid: 200 }, out: { uid: 100, gid: 200 } },
  },
  {
    name: 'testDockerfileAddArchiveWildcard',
    dockerfile: 'FROM scratch\nADD *.tar /dest\n',
    context: async () => ({ 't.tar': { content: await fooTar() }, 'b.tar': { content: await tarball([{ name: 'bar', content: 'content1' }]) } }),
    files: { 'dest/foo': 'content0', 'dest/bar': 'content1' },
  },
  {
    name: 'testDockerfileAddChownExpand',
    dockerfile: 'FROM busybox\nARG group\nENV owner 1000\nADD --chown=${owner}:${group} foo /\n',
    context: { foo: { content: 'foo-contents', mode: 0o600 } },
    opts: { buildArgs: { group: 'nobody' } },
    // upstream: RUN [ "$(stat -c "%u %G" /foo)" == "1000 nobody" ]
    files: { foo: { uid: 1000, gid: 65534 } },
  },
  {
    name: 'testAddURLChmod',
    dockerfile: `FROM busybox AS build
ADD --chmod=644 {{URL}}/foo /tmp/foo1
ADD --chmod=755 {{URL}}/foo /tmp/foo2
ADD --chmod=0413 {{URL}}/foo /tmp/foo3
ARG mode
ADD --chmod=\${mode} {{URL}}/foo /tmp/foo4
RUN stat -c "%04a" /tmp/foo1 >> /dest && \\
  stat -c "%04a" /tmp/foo2 >> /dest && \\
  stat -c "%04a" /tmp/foo3 >> /dest && \\
  stat -c "%04a" /tmp/foo4 >> /dest
FROM scratch
COPY --from=build /dest /dest
`,
    http: { '/foo': { content: 'content1' } },
    opts: { buildArgs: { mode: '400' } },
    files: { dest: '0644\n0755\n0413\n0400\n' },
  },
  {
    name: 'testAddInvalidChmod',
    dockerfile: 'FROM scratch\nADD --chmod=64a foo /\n',
    context: { foo: 'foo-contents' },
    error: /invalid chmod parameter: .?64a/,
    builds: [{ dockerfile: 'FROM scratch\nADD --chmod=10000 foo /\n', error: /invalid chmod parameter: .?10000/ }],
  },
  {
    name: 'testAddChecksum/Valid',
    dockerfile: `FROM scratch\nADD --checksum=${sha256('content1')} {{URL}}/foo /tmp/foo\n`,
    http: { '/foo': { content: 'content1' } },
    files: { 'tmp/foo': 'content1' },
  },
  {
    name: 'testAddChecksum/DigestFromEnv',
    dockerfile: `FROM scratch\nENV DIGEST=${sha256('content1')}\nENV LINK={{URL}}/foo\nADD --checksum=\${DIGEST} \${LINK} /tmp/foo\n`,
    http: { '/foo': { content: 'content1' } },
    files: { 'tmp/foo': 'content1' },
  },
  {
    name: 'testAddChecksum/DigestMismatch',
    dockerfile: `FROM scratch\nADD --checksum=${sha256('')} {{URL}}/foo /tmp/foo\n`,
    http: { '/foo': { content: 'content1' } },
    error: /digest mismatch|checksum/i,
  },
  {
    name: 'testAddChecksum/DigestWithKnownButUnsupportedAlgoName',
    dockerfile: 'FROM scratch\nADD --checksum=md5:7e55db001d319a94b0b713529a756623 {{URL}}/foo /tmp/foo\n',
    http: { '/foo': { content: 'content1' } },
    error: /unsupported digest algorithm|md5/i,
  },
  {
    name: 'testAddChecksum/DigestWithUnknownAlgoName',
    dockerfile: `FROM scratch\nADD --checksum=unknown:${sha256('content1').slice(7)} {{URL}}/foo /tmp/foo\n`,
    http: { '/foo': { content: 'content1' } },
    error: /unsupported digest algorithm|unknown/i,
  },
  {
    name: 'testAddChecksum/DigestWithoutAlgoName',
    dockerfile: `FROM scratch\nADD --checksum=${sha256('content1').slice(7)} {{URL}}/foo /tmp/foo\n`,
    http: { '/foo': { content: 'content1' } },
    error: /invalid checksum digest format|checksum/i,
  },
  {
    name: 'testAddChecksum/NonHTTPSource',
    dockerfile: `FROM scratch\nADD --checksum=${sha256('local file')} foo /tmp/foo\n`,
    context: { foo: 'local file' },
    error: /checksum requires HTTP\(S\) or Git sources|checksum/i,
  },
];

runCases('buildkit: ADD (dockerfile_add_test.go)', cases);

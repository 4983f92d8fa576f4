/**
 * BuildKit's COPY tests (frontend/dockerfile/dockerfile_copy_test.go) as cases: the upstream
 * Dockerfile and context, the upstream assertions checked on the exported root filesystem.
 */
import assert from 'node:assert/strict';
import { runCases, type Case } from './harness.js';

let unique = '';

const cases: Case[] = [
  {
    name: 'testDockerfileCopyFromArgs',
    what: 'COPY --from=$FOO is refused',
    dockerfile: 'FROM scratch\nCOPY --from=$FOO . .\n',
    error: 'variable expansion is not supported for --from, define a new stage with FROM using ARG from global scope as a workaround',
  },
  {
    name: 'testEmptyDestDir',
    what: 'COPY to an empty destination copies into the working directory',
    dockerfile: 'FROM busybox\nENV empty=""\nCOPY testfile $empty\n',
    context: { testfile: 'contents0' },
    files: { testfile: 'contents0' },
  },
  {
    name: 'testPreserveDestDirSlash',
    dockerfile: 'FROM busybox\nCOPY testfile /sample/\n',
    context: { testfile: 'contents0' },
    files: { 'sample/testfile': 'contents0' },
  },
  {
    name: 'testCopyLinkDotDestDir',
    dockerfile: 'FROM busybox\nWORKDIR /var/www\nCOPY --link testfile .\n',
    context: { testfile: 'contents0' },
    files: { 'var/www/testfile': 'contents0' },
  },
  {
    name: 'testCopyLinkEmptyDestDir',
    dockerfile: 'FROM busybox\nWORKDIR /var/www\nENV empty=""\nCOPY --link testfile $empty\n',
    context: { testfile: 'contents0' },
    files: { 'var/www/testfile': 'contents0' },
  },
  {
    name: 'testCopyChownExistingDir',
    what: 'a new destination dir is 0:0, an existing one keeps its owner, copied entries keep theirs or take --chown',
    dockerfile: '',
    dockerfileName: 'Dockerfile',
    context: {
      'Dockerfile.web': `FROM busybox AS source
RUN touch /file && chown 100:200 /file \\
 && mkdir -p /dir/subdir \\
 && touch /dir/subdir/nestedfile \\
 && chown 100:200 /dir \\
 && chown 101:201 /dir/subdir \\
 && chown 102:202 /dir/subdir/nestedfile

FROM busybox AS test_base
RUN mkdir -p /existingdir/existingsubdir \\
 && touch /existingdir/existingfile \\
 && chown 500:600 /existingdir \\
 && chown 501:601 /existingdir/existingsubdir \\
 && chown 501:601 /existingdir/existingfile

FROM test_base AS copy_from
COPY --from=source /file .
COPY --from=source /dir /dir
COPY --from=source /dir/. /existingdir

FROM test_base AS copy_from_chowned
COPY --from=source --chown=300:400 /file .
COPY --from=source --chown=300:400 /dir /dir
COPY --from=source --chown=300:400 /dir/. /existingdir
`,
      Dockerfile: { symlink: 'Dockerfile.web' },
    },
    opts: { target: 'copy_from' },
    files: {
      file: { uid: 100, gid: 200 },
      dir: { uid: 0, gid: 0 },
      'dir/subdir': { uid: 101, gid: 201 },
      'dir/subdir/nestedfile': { uid: 102, gid: 202 },
      existingdir: { uid: 500, gid: 600 },
      'existingdir/existingsubdir': { uid: 501, gid: 601 },
      'existingdir/existingfile': { uid: 501, gid: 601 },
      'existingdir/subdir': { uid: 101, gid: 201 },
      'existingdir/subdir/nestedfile': { uid: 102, gid: 202 },
    },
    builds: [
      {
        opts: { target: 'copy_from_chowned' },
        files: {
          file: { uid: 300, gid: 400 },
          dir: { uid: 300, gid: 400 },
          'dir/subdir': { uid: 300, gid: 400 },
          'dir/subdir/nestedfile': { uid: 300, gid: 400 },
          existingdir: { uid: 500, gid: 600 },
          'existingdir/existingsubdir': { uid: 501, gid: 601 },
          'existingdir/existingfile': { uid: 501, gid: 601 },
          'existingdir/subdir': { uid: 300, gid: 400 },
          'existingdir/subdir/nestedfile': { uid: 300, gid: 400 },
        },
      },
    ],
  },
  {
    name: 'testCopyWildcardCache',
    what: 'a change to a file outside the wildcard keeps the cache, a change to a matched file breaks it',
    dockerfile: 'FROM busybox AS base\nCOPY foo* files/\nRUN cat /dev/urandom | head -c 100 | sha256sum > unique\nCOPY bar files/\n\nFROM scratch\nCOPY --from=base unique /\n',
    context: { foo1: 'foo1-data', foo2: 'foo2-data', bar: 'bar-data' },
    check: async (r) => {
      unique = await r.read('unique');
    },
    builds: [
      { update: { bar: 'bar-data-mod' }, check: async (r) => assert.equal(await r.read('unique'), unique) },
      { update: { foo2: 'foo2-data-mod' }, check: async (r) => assert.notEqual(await r.read('unique'), unique) },
    ],
  },
  {
    name: 'testEmptyWildcard',
    what: 'a wildcard matching nothing beside a real source copies the real one',
    dockerfile: 'FROM scratch\nCOPY foo nomatch* /\n',
    context: { foo: 'contents0' },
    files: { foo: 'contents0' },
  },
  {
    name: 'testCopyChownCreateDest',
    what: '--chown names and ${vars} apply to the created destination',
    // The fixture's busybox has no adduser applet: the users are appended to /etc/passwd as
    // adduser -D would make them (uids 1000, 1001; group user 1000); upstream's RUN stat checks
    // ("user user", "user01 user") read as owners of the exported files.
    dockerfile: `FROM busybox
ARG group
ENV owner user01
RUN echo 'user:x:1000:1000::/home/user:/bin/sh' >> /etc/passwd && echo 'user:x:1000:' >> /etc/group
RUN echo 'user01:x:1001:1001::/home/user01:/bin/sh' >> /etc/passwd && echo 'user01:x:1001:' >> /etc/group
COPY --chown=user:user . /dest
COPY --chown=\${owner}:\${group} . /dest01
`,
    opts: { buildArgs: { group: 'user' } },
    files: { dest: { uid: 1000, gid: 1000 }, dest01: { uid: 1001, gid: 1000 } },
  },
  {
    name: 'testCopyThroughSymlinkContext',
    dockerfile: 'FROM scratch\nCOPY link/foo .\n',
    context: { link: { symlink: 'sub' }, sub: { dir: true, mode: 0o700 }, 'sub/foo': { content: 'contents', mode: 0o600 } },
    files: { foo: 'contents' },
  },
  {
    name: 'testCopyThroughSymlinkMultiStage',
    dockerfile: `FROM busybox AS build
RUN mkdir -p /out/sub && ln -s /out/sub /sub && ln -s out/sub /sub2 && echo -n "data" > /sub/foo
FROM scratch
COPY --from=build /sub/foo .
COPY --from=build /sub2/foo bar
`,
    files: { foo: 'data', bar: 'data' },
  },
  {
    name: 'testCopySocket',
    what: 'a unix socket in the context is copied as a regular file',
    dockerfile: 'FROM scratch\nCOPY . /\n',
    context: { 'socket.sock': { socket: true, mode: 0o600 } },
    files: { 'socket.sock': { type: 'file' } },
  },
  {
    name: 'testCopyFollowAllSymlinks',
    what: 'a source symlink to a file outside its dir is followed',
    dockerfile: 'FROM scratch\nCOPY foo /\nCOPY foo/sub bar\n',
    context: { bar: 'bar-contents', foo: { dir: true, mode: 0o700 }, 'foo/sub': { symlink: '../bar' } },
  },
  {
    name: 'testCopySymlinks',
    what: 'a named symlink source is followed; wildcard matches that are symlinks are followed too',
    dockerfile: 'FROM scratch\nCOPY foo /\nCOPY sub/l* alllinks/\n',
    context: {
      bar: 'bar-contents',
      foo: { symlink: 'bar' },
      sub: { dir: true, mode: 0o700 },
      'sub/lfile': 'lfile-contents',
      'sub/l0': { symlink: 'subfile' },
      'sub/subfile': 'subfile-contents',
      'sub/l1': { symlink: 'second' },
      'sub/second': { symlink: 'baz' },
      'sub/baz': 'baz-contents',
    },
    files: { foo: 'bar-contents', 'alllinks/l0': 'subfile-contents', 'alllinks/lfile': 'lfile-contents', 'alllinks/l1': 'baz-contents' },
  },
  {
    name: 'testCopyChown',
    what: '--chown by user name, uid:group name, and ${vars}',
    dockerfile: `FROM busybox AS base
ENV owner 1000
COPY --chown=daemon foo /
COPY --chown=1000:nobody bar /baz
ARG group
COPY --chown=\${owner}:\${group} foo /foobis
`,
    context: { foo: { content: 'foo-contents', mode: 0o600 }, bar: { dir: true, mode: 0o700 }, 'bar/sub': { content: '', mode: 0o600 } },
    opts: { buildArgs: { group: 'nobody' } },
    // upstream: stat "%U %G" /foo = "daemon daemon"; "%u %G" of /baz/sub and /foobis = "1000 nobody"
    files: { foo: { uid: 1, gid: 1 }, 'baz/sub': { uid: 1000, gid: 65534 }, foobis: { uid: 1000, gid: 65534 } },
  },
  {
    name: 'testCopyChmod',
    what: '--chmod on files, created parents, and from an ARG',
    dockerfile: `FROM busybox AS base
COPY --chmod=0644 foo /
COPY --chmod=777 bar /baz
COPY --chmod=0 foo /foobis
COPY --chmod=777 foo /parent/foo
COPY --chmod=770 foo /parent/sub/foo
ARG mode
COPY --chmod=\${mode} foo /footer
`,
    context: { foo: { content: 'foo-contents', mode: 0o600 }, bar: { content: 'bar-contents', mode: 0o700 } },
    opts: { buildArgs: { mode: '755' } },
    files: { foo: { mode: 0o644 }, baz: { mode: 0o777 }, foobis: { mode: 0 }, parent: { mode: 0o777 }, 'parent/sub': { mode: 0o770 }, footer: { mode: 0o755 } },
  },
  {
    name: 'testCopyInvalidChmod',
    what: 'a non-octal or too large --chmod is refused',
    dockerfile: 'FROM scratch\nCOPY --chmod=64a foo /\n',
    context: { foo: 'foo-contents' },
    error: /invalid chmod parameter: .?64a/,
    builds: [{ dockerfile: 'FROM scratch\nCOPY --chmod=10000 foo /\n', error: /invalid chmod parameter: .?10000/ }],
  },
  {
    name: 'testCopyOverrideFiles',
    dockerfile: 'FROM scratch AS base\nCOPY sub sub\nCOPY sub sub\nCOPY files/foo.go dest/foo.go\nCOPY files/foo.go dest/foo.go\nCOPY files dest\n',
    context: { 'sub/dir1/dir2/foo': 'foo-contents', 'files/foo.go': 'foo.go-contents' },
    files: { 'sub/dir1/dir2/foo': 'foo-contents', 'dest/foo.go': 'foo.go-contents' },
  },
  {
    name: 'testCopyVarSubstitution',
    dockerfile: 'FROM scratch AS base\nENV FOO bar\nCOPY $FOO baz\n',
    context: { bar: 'bar-contents' },
    files: { baz: 'bar-contents' },
  },
  {
    name: 'testCopyWildcards',
    dockerfile: `FROM scratch AS base
COPY *.go /gofiles/
COPY f*.go foo2.go
COPY sub/* /subdest/
COPY sub/*/dir2/foo /subdest2/
COPY sub/*/dir2/foo /subdest3/bar
COPY . all/
COPY sub/dir1/ subdest4
COPY sub/dir1/. subdest5
COPY sub/dir1 subdest6
`,
    context: { 'foo.go': 'foo-contents', 'bar.go': 'bar-contents', 'sub/dir1/dir2/foo': 'foo-contents' },
    files: {
      'gofiles/foo.go': 'foo-contents',
      'gofiles/bar.go': 'bar-contents',
      'foo2.go': 'foo-contents',
      'subdest/dir2/foo': 'foo-contents',
      'subdest2/foo': 'foo-contents',
      'subdest3/bar': 'foo-contents',
      'all/foo.go': 'foo-contents',
      'subdest4/dir2/foo': 'foo-contents',
      'subdest5/dir2/foo': 'foo-contents',
      'subdest6/dir2/foo': 'foo-contents',
    },
  },
  {
    name: 'testCopyRelative',
    what: 'relative destinations resolve against WORKDIR (the upstream RUN checks read as exported files)',
    dockerfile: `FROM busybox
WORKDIR /test1
WORKDIR test2
COPY foo ./
ADD foo ./bar/baz
COPY foo ./bar/baz2
WORKDIR ..
COPY foo ./
COPY foo /test3/
WORKDIR /test4
COPY . .
WORKDIR /test5/test6
COPY foo ../
`,
    context: { foo: 'hello' },
    files: { 'test1/test2/foo': 'hello', 'test1/test2/bar/baz': 'hello', 'test1/test2/bar/baz2': 'hello', 'test1/foo': 'hello', 'test3/foo': 'hello', 'test4/foo': 'hello', 'test5/foo': 'hello' },
    config: (img) => assert.equal(img.config?.WorkingDir, '/test5/test6'),
  },
  {
    name: 'testCopyUnicodePath',
    dockerfile: 'FROM busybox\nCOPY test-äöü.txt /\nCOPY test-%C3%A4%C3%B6%C3%BC.txt /\nCOPY test+aou.txt /\n',
    context: { 'test-äöü.txt': 'foo', 'test-%C3%A4%C3%B6%C3%BC.txt': 'bar', 'test+aou.txt': 'baz' },
    files: { 'test-äöü.txt': 'foo', 'test-%C3%A4%C3%B6%C3%BC.txt': 'bar', 'test+aou.txt': 'baz' },
  },
  {
    name: 'testChmodNonOctal',
    what: 'symbolic --chmod (go-w, u=rw,g=r,o=r, a+X) on files and directories, as chmod(1)',
    dockerfile: `FROM busybox AS base
RUN <<eot
  set -ex
  mkdir /input
  touch /input/file
  chmod 666 /input/file
  mkdir /input/dir
  chmod 124 /input/dir
  for d in d1 d2 d3; do mkdir -p /input/dirs/$d && cp -a /input/dir /input/dirs/$d/$d; done
eot

FROM scratch AS result
COPY --from=base --chmod=go-w /input/file /f1
COPY --from=base --chmod=u=rw,g=r,o=r /input/file /f2
COPY --from=base --chmod=a+X /input/file /f3
COPY --from=base --chmod=go-w /input/dirs/d1 /
COPY --from=base --chmod=u+rw,g+r,o-x,o+w /input/dirs/d2 /
COPY --from=base --chmod=a+X /input/dirs/d3 /
`,
    // chmod(1) of 0666 and of 0124 with the same modes (the upstream test compares with it)
    files: { f1: { mode: 0o644 }, f2: { mode: 0o644 }, f3: { mode: 0o666 }, d1: { mode: 0o104 }, d2: { mode: 0o766 }, d3: { mode: 0o135 } },
  },
  {
    name: 'testLocalCustomSessionID',
    dockerfile: 'FROM scratch\n',
    skip: 'BuildKit client API: local sources served by a custom session id; mybuild has no sessions',
  },
];

runCases('buildkit: COPY (dockerfile_copy_test.go)', cases);

/**
 * BuildKit's COPY --parents tests (frontend/dockerfile/dockerfile_parents_test.go) as cases.
 * Upstream's stages are alpine with RUN checks; here each target's /out is exported and read
 * (busybox as the base, the same facts).
 */
import { runCases, type Case } from './harness.js';

const relativeBase = `FROM busybox AS base
WORKDIR /test
RUN <<eot
\tset -ex
\tmkdir -p a/b/c/d/e
\tmkdir -p a/b2/c/d/e
\tmkdir -p a/b/c2/d/e
\tmkdir -p a/b/c2/d/e2
\ttouch a/b/c/d/foo
\ttouch a/b/c/d/e/bay
\ttouch a/b2/c/d/e/bar
\ttouch a/b/c2/d/e/baz
\ttouch a/b/c2/d/e2/baz
eot
FROM scratch AS middle
COPY --from=base --parents /test/a/b/./c/d /out/
FROM scratch AS end
COPY --from=base --parents /test/a/b/c/d/. /out/
FROM scratch AS start
COPY --from=base --parents ./test/a/b/c/d /out/
FROM scratch AS double
COPY --from=base --parents /test/a/./b/./c /out/
FROM scratch AS wildcard
COPY --from=base --parents /test/a/./*/c /out/
FROM scratch AS doublewildcard
COPY --from=base --parents /test/a/b*/./c/**/e /out/
FROM scratch AS doubleinputs
COPY --from=base --parents /test/a/b/c*/./d/**/baz /test/a/b*/./c/**/bar /out/
`;

const relative = (target: string, files: Case['files'], todo?: string): Case => ({ name: `testCopyRelativeParents/${target}`, dockerfile: relativeBase, opts: { target }, files, todo });

const missingBase = `FROM busybox AS base
WORKDIR /test
RUN <<eot
\tset -ex
\tmkdir -p a/b/c/d/e
\ttouch a/b/c/d/foo
\ttouch a/b/c/d/e/bay
eot
FROM scratch AS normal
COPY --from=base --parents /test/a/b/c/d /out/
FROM scratch AS withpivot
COPY --from=base --parents /test/a/b/./c/d /out/
FROM scratch AS nonexistentfile
COPY --from=base --parents /test/nonexistent-file /out/
FROM busybox AS wildcard-nonexistent
COPY --from=base --parents /test/a/b2*/c /out/
FROM busybox AS wildcard-afterpivot
COPY --from=base --parents /test/a/b/./c2* /out/
`;
const missing = (target: string, extra: Partial<Case>): Case => ({ name: `testCopyParentsMissingDirectory/${target}`, dockerfile: missingBase, opts: { target }, ...extra });

const cases: Case[] = [
  {
    name: 'testCopyParents',
    dockerfile: 'FROM scratch\nCOPY --parents foo1/foo2/bar /\nWORKDIR /test\nCOPY --parents foo1/foo2/ba* .\n',
    context: { 'foo1/foo2/bar': 'testing', 'foo1/foo2/baz': 'testing2' },
    files: { 'foo1/foo2/bar': 'testing', 'test/foo1/foo2/bar': 'testing', 'test/foo1/foo2/baz': 'testing2' },
  },
  relative('middle', { 'out/c/d/e': { type: 'dir' }, 'out/c/d/foo': { type: 'file' }, 'out/a': null, 'out/e': null }),
  relative('end', { 'out/test/a/b/c/d/e': { type: 'dir' }, 'out/test/a/b/c/d/foo': { type: 'file' } }),
  relative('start', { 'out/test/a/b/c/d/e': { type: 'dir' }, 'out/test/a/b/c/d/foo': { type: 'file' } }),
  relative('double', { 'out/b/c/d/e': { type: 'dir' }, 'out/b/c/d/foo': { type: 'file' } }),
  relative('wildcard', { 'out/b/c/d/e': { type: 'dir' }, 'out/b2/c/d/e/bar': { type: 'file' } }),
  relative('doublewildcard', { 'out/c/d/e': { type: 'dir' }, 'out/c/d/e/bay': { type: 'file' }, 'out/c/d/e/bar': { type: 'file' } }, 'issue 16: COPY --parents /test/a/b*/./c/**/e copies nothing under /out/c/d (out/c/d/e absent)'),
  relative('doubleinputs', { 'out/d/e/baz': { type: 'file' }, 'out/d/e/bay': null, 'out/d/e2/baz': { type: 'file' }, 'out/c/d/e/bar': { type: 'file' } }, 'issue 16: the build fails: failed to compute cache key: "/test/a/b*/c/**/bar": not found (BuildKit matches via b2)'),
  missing('normal', { files: { 'out/test/a/b/c/d/e': { type: 'dir' }, 'out/test/a/b/c/d/e/bay': { type: 'file' }, 'out/e': null, 'out/a': null } }),
  missing('withpivot', { files: { 'out/c/d/e': { type: 'dir' }, 'out/c/d/foo': { type: 'file' }, 'out/a': null, 'out/e': null } }),
  missing('nonexistentfile', { error: /"\/test\/nonexistent-file": not found/ }),
  missing('wildcard-nonexistent', { files: { out: { type: 'dir' }, 'out/a': null } }),
  missing('wildcard-afterpivot', { files: { out: { type: 'dir' }, 'out/a': null, 'out/c2': null } }),
];

runCases('buildkit: COPY --parents (dockerfile_parents_test.go)', cases);

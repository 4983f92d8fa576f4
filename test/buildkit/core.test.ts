/**
 * BuildKit's core Dockerfile tests (frontend/dockerfile/dockerfile_core_test.go) as cases:
 * context/Dockerfile locations, symlinks, labels, EXPOSE, USER and groups, hostnames, step names.
 */
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { buildContext, runCliProcess, writeContext } from '../helpers/build.js';
import { runCases, tarball, type Case } from './harness.js';

/** Every path under `dir` (files and dirs), for comparing a store before and after. */
async function listTree(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    out.push(p);
    if (e.isDirectory()) out.push(...(await listTree(p)));
  }
  return out;
}
let storeBefore: string[] = [];

const idCheck = (want: string) => `RUN [ "$(id -u):$(id -g)/$(id -un):$(id -gn)/$(id -G):$(id -Gn)" = '${want}' ]`;

const cases: Case[] = [
  {
    name: 'testDockerfileDirs',
    what: 'absolute and relative context and Dockerfile paths, and a Dockerfile outside the context',
    dockerfile: 'FROM busybox\nCOPY foo /foo2\nCOPY foo /\nRUN echo -n bar > foo3\nRUN test -f foo\nRUN cmp -s foo foo2\nRUN cmp -s foo foo3\n',
    context: { foo: 'bar' },
    check: async (r) => {
      // relative paths, through the CLI run in the context dir
      const rel = await runCliProcess(['--root', r.root, 'build', '-f', 'Dockerfile', '.'], { cwd: r.contextDir });
      assert.equal(rel.code, 0, rel.stderr);
      // the Dockerfile in another directory than the context
      const dfDir = await writeContext({ Dockerfile: 'FROM busybox\nCOPY foo /foo2\nCOPY foo /\nRUN echo -n bar > foo3\nRUN test -f foo\nRUN cmp -s foo foo2\nRUN cmp -s foo foo3\n' });
      const ctx = await writeContext({ foo: 'bar' });
      await buildContext(r.root, ctx, { dockerfilePath: path.join(dfDir, 'Dockerfile') });
    },
  },
  {
    name: 'testSymlinkedDockerfile',
    dockerfile: '',
    context: { 'Dockerfile.web': 'FROM scratch\nENV foo bar\n', Dockerfile: { symlink: 'Dockerfile.web' } },
    config: (img) => assert.ok(img.config?.Env?.includes('foo=bar'), String(img.config?.Env)),
  },
  {
    name: 'testSymlinkDestination',
    what: 'COPY into a relative symlink (from an archive) writes to its target',
    dockerfile: 'FROM scratch\nADD t.tar /\nCOPY foo /symlink/\n',
    context: async () => ({ foo: 'content0', 't.tar': { content: await tarball([{ name: 'symlink', type: 'symlink', linkname: '../tmp/symlink-target', mode: 0o755 }]) } }),
    files: { 'tmp/symlink-target/foo': 'content0' },
  },
  {
    name: 'testContextChangeDirToFile',
    what: 'a context path that was a dir and becomes a file is copied as the file',
    dockerfile: 'FROM scratch\nCOPY foo /\n',
    context: { foo: { dir: true, mode: 0o700 }, 'foo/bar': 'contents' },
    builds: [{ update: { foo: 'contents2' }, files: { foo: 'contents2' } }],
  },
  {
    name: 'testNoSnapshotLeak',
    what: 'a second identical build adds nothing to the store',
    dockerfile: 'FROM scratch\nCOPY foo /\n',
    context: { foo: 'contents' },
    check: async (r) => {
      storeBefore = (await listTree(r.root)).filter((p) => !p.includes('/tmp/'));
    },
    builds: [
      {
        check: async (r) => {
          const after = (await listTree(r.root)).filter((p) => !p.includes('/tmp/'));
          assert.deepEqual(after.filter((p) => !storeBefore.includes(p)), []);
        },
      },
    ],
  },
  {
    name: 'testExposeExpansion',
    dockerfile: 'FROM scratch\nARG PORTS="3000 4000/udp"\nEXPOSE $PORTS\nEXPOSE 5000\n',
    config: (img) => assert.deepEqual(Object.keys(img.config?.ExposedPorts ?? {}).sort(), ['3000/tcp', '4000/udp', '5000/tcp']),
  },
  {
    name: 'testDockerfileLowercase',
    what: 'a context with only a lowercase "dockerfile" builds',
    dockerfile: '',
    context: { dockerfile: 'FROM scratch\n' },
    opts: { dockerfilePath: undefined, dockerfileName: undefined },
  },
  {
    name: 'testLabels',
    what: 'LABEL and --label both land in the config',
    dockerfile: 'FROM scratch\nLABEL foo=bar\n',
    opts: { labels: { bar: 'baz' } },
    config: (img) => assert.deepEqual(img.config?.Labels, { foo: 'bar', bar: 'baz' }),
  },
  {
    name: 'testUser',
    what: 'USER by name, uid, user:group in every form; supplementary groups; unknown ids',
    dockerfile: `FROM busybox AS base
RUN mkdir -m 0777 /out
RUN id -un > /out/rootuser
RUN [ "$(id -u):$(id -g)/$(id -un):$(id -gn)" = '0:0/root:root' ]
USER root
RUN [ "$(id -G):$(id -Gn)" = '0 10:root wheel' ]
RUN echo 'dockerio:x:1001:1001::/bin:/bin/false' >> /etc/passwd && \\
  echo 'dockerio:x:1001:' >> /etc/group
USER dockerio
${idCheck('1001:1001/dockerio:dockerio/1001:dockerio')}
USER root
${idCheck('0:0/root:root/0 10:root wheel')} && \\
  echo 'supplementary:x:1002:dockerio' >> /etc/group
USER dockerio
${idCheck('1001:1001/dockerio:dockerio/1001 1002:dockerio supplementary')}
USER 1001
${idCheck('1001:1001/dockerio:dockerio/1001 1002:dockerio supplementary')}
USER dockerio:dockerio
${idCheck('1001:1001/dockerio:dockerio/1001:dockerio')}
USER 1001:dockerio
${idCheck('1001:1001/dockerio:dockerio/1001:dockerio')}
USER dockerio:1001
${idCheck('1001:1001/dockerio:dockerio/1001:dockerio')}
USER 1001:1001
${idCheck('1001:1001/dockerio:dockerio/1001:dockerio')}
USER dockerio:supplementary
${idCheck('1001:1002/dockerio:supplementary/1002:supplementary')}
USER dockerio:1002
${idCheck('1001:1002/dockerio:supplementary/1002:supplementary')}
USER 1001:supplementary
${idCheck('1001:1002/dockerio:supplementary/1002:supplementary')}
USER 1001:1002
${idCheck('1001:1002/dockerio:supplementary/1002:supplementary')}
USER 1042:1043
${idCheck('1042:1043/1042:1043/1043:1043')}
USER daemon
RUN id -un > /out/daemonuser
FROM scratch
COPY --from=base /out /
USER nobody
`,
    files: { rootuser: 'root\n', daemonuser: 'daemon\n' },
    config: (img) => assert.equal(img.config?.User, 'nobody'),
  },
  {
    name: 'testUserAdditionalGids',
    what: 'the primary gid is in the groups list (CVE-2023-25173)',
    dockerfile: `FROM busybox
SHELL ["/bin/sh", "-euxc"]
RUN [ "$(id)" = "uid=0(root) gid=0(root) groups=0(root),10(wheel)" ]
USER 1234
RUN [ "$(id)" = "uid=1234 gid=0(root) groups=0(root)" ]
USER 1234:1234
RUN [ "$(id)" = "uid=1234 gid=1234 groups=1234" ]
USER daemon
RUN [ "$(id)" = "uid=1(daemon) gid=1(daemon) groups=1(daemon)" ]
`,
  },
  {
    name: 'testDockerfileCheckHostname/arg',
    what: 'BUILDKIT_SANDBOX_HOSTNAME sets the RUN hostname',
    dockerfile: 'FROM busybox\nRUN cat /etc/hosts | grep foo\nRUN echo $HOSTNAME | grep foo\nRUN echo $(hostname) | grep foo\n',
    opts: { buildArgs: { BUILDKIT_SANDBOX_HOSTNAME: 'foo' } },
  },
  {
    name: 'testDockerfileCheckHostname/meta',
    dockerfile: 'FROM busybox\n',
    skip: 'the "hostname" frontend attribute is a buildctl --opt; docker build and mybuild have no --hostname flag',
  },
  {
    name: 'testDockerfileCheckHostname/meta and arg',
    dockerfile: 'FROM busybox\n',
    skip: 'the "hostname" frontend attribute is a buildctl --opt; docker build and mybuild have no --hostname flag',
  },
  {
    name: 'testStepNames',
    what: 'progress names steps "[stage N/M] INSTRUCTION"',
    dockerfile: 'FROM busybox AS base\nWORKDIR /out\nRUN echo "base" > base\nFROM scratch\nCOPY --from=base --chmod=0644 /out /out\n',
    check: async (r) => {
      const p = await runCliProcess(['--root', r.root, 'build', '--no-cache', '--progress=plain', '.'], { cwd: r.contextDir });
      assert.equal(p.code, 0, p.stderr);
      assert.ok(p.stderr.includes('[base 3/3] RUN echo "base" > base'), p.stderr);
      assert.ok(p.stderr.includes('[stage-1 1/1] COPY --from=base --chmod=0644 /out /out'), p.stderr);
    },
  },
  {
    name: 'testTargetMistype',
    dockerfile: 'FROM scratch AS build\nCOPY Dockerfile /out\nFROM scratch\nCOPY --from=build /out /\n',
    opts: { target: 'bulid' },
    error: 'target stage "bulid" could not be found (did you mean build?)',
  },
];

runCases('buildkit: core (dockerfile_core_test.go)', cases);

/**
 * BuildKit's ONBUILD tests (frontend/dockerfile/dockerfile_onbuild_test.go) as cases. Upstream
 * hands the base images over through a registry; here they are tagged in the local store, which
 * is what FROM reads first.
 */
import { runCases, type Case } from './harness.js';

const cases: Case[] = [
  {
    name: 'testOnBuildCleared',
    what: 'triggers run in the child only, not in the grandchild',
    dockerfile: 'FROM busybox\nONBUILD RUN mkdir -p /out && echo -n 11 >> /out/foo\n',
    opts: { tags: ['bk-testonbuild:base'] },
    builds: [
      { dockerfile: '\tFROM bk-testonbuild:base\n\t', opts: { tags: ['bk-testonbuild:child'] } },
      { dockerfile: '\tFROM bk-testonbuild:child AS base\n\tFROM scratch\n\tCOPY --from=base /out /\n\t', opts: { tags: [] }, files: { foo: '11' } },
    ],
  },
  {
    name: 'testOnBuildWithChildStage',
    what: 'triggers do not run again in a stage FROM the stage that ran them',
    dockerfile: 'FROM busybox\nONBUILD RUN mkdir -p /out && echo -n yes >> /out/didrun\n',
    opts: { tags: ['bk-testonbuildstage:base'] },
    builds: [
      {
        dockerfile: `FROM bk-testonbuildstage:base AS base
RUN [ -f /out/didrun ] && touch /step1
RUN rm /out/didrun
RUN [ ! -f /out/didrun ] && touch /step2
FROM base AS child
RUN [ ! -f /out/didrun ] && touch /step3
FROM scratch
COPY --from=child /step* /
`,
        opts: { tags: [] },
        files: { step1: '', step2: '', step3: '' },
      },
    ],
  },
  {
    name: 'testOnBuildNamedContext',
    dockerfile: '',
    skip: 'needs a named build context (context:base=oci-layout:…); mybuild has no --build-context',
  },
  {
    name: 'testOnBuildInheritedStageRun',
    what: 'a trigger of a stage in the same Dockerfile runs in the stage FROM it',
    dockerfile: 'FROM busybox AS base\nONBUILD RUN mkdir -p /out && echo -n 11 >> /out/foo\nFROM base AS mid\nRUN cp /out/foo /out/bar\nFROM scratch\nCOPY --from=mid /out/bar /\n',
    files: { bar: '11' },
  },
  {
    name: 'testOnBuildInheritedStageWithFrom',
    what: 'an ONBUILD COPY --from=<stage> of a stage in the same Dockerfile',
    // upstream's src stage is alpine; busybox serves
    dockerfile: 'FROM busybox AS src\nRUN mkdir -p /in && echo -n 12 > /in/file\nFROM busybox AS base\nONBUILD COPY --from=src /in/file /out/foo\nFROM base AS mid\nRUN cp /out/foo /out/bar\nFROM scratch\nCOPY --from=mid /out/bar /\n',
    todo: 'issue 16: ONBUILD COPY --from=<stage> crashes: TypeError "Cannot read properties of undefined (reading \'0\')"',
    files: { bar: '12' },
  },
  {
    name: 'testOnBuildNewDeps',
    what: 'triggers bring new dependencies: an image to COPY from, a stage to bind-mount, nested bases',
    // upstream copies /etc/alpine-release from alpine; a local image "bk-alpine" with that file stands in
    dockerfile: 'FROM scratch\nCOPY alpine-release /etc/alpine-release\n',
    context: { 'alpine-release': '3.20.3\n' },
    todo: 'issue 16: ONBUILD COPY --from=<image> crashes: TypeError "Cannot read properties of undefined (reading \'0\')"',
    opts: { tags: ['bk-alpine:latest'] },
    builds: [
      { dockerfile: 'FROM busybox\nONBUILD COPY --from=bk-alpine /etc/alpine-release /out/alpine-release2\n', opts: { tags: ['bk-testonbuilddeps:base'] } },
      {
        dockerfile: '\tFROM bk-testonbuilddeps:base AS base\n\tRUN cat /out/alpine-release2 > /out/alpine-release3\n\tFROM scratch\n\tCOPY --from=base /out /\n\t',
        opts: { tags: [] },
        files: { 'alpine-release3': /^.{6,}/s },
      },
      {
        dockerfile: 'FROM busybox\nONBUILD RUN --mount=type=bind,target=/in,from=inputstage mkdir /out && cat /in/foo > /out/bar && cat /in/out/alpine-release2 > /out/bar2\n',
        opts: { tags: ['bk-testonbuilddeps:base2'] },
      },
      {
        dockerfile: `\tFROM bk-testonbuilddeps:base AS inputstage
\tRUN cat /out/alpine-release2 > /out/alpine-release4
\tRUN echo -n foo > /foo
\tFROM bk-testonbuilddeps:base2 AS base
\tRUN echo -n bar3 > /out/bar3
\tFROM scratch
\tCOPY --from=base /out /
\t`,
        opts: { tags: [] },
        files: { bar: 'foo', bar2: /^.{6,}/s, bar3: 'bar3' },
      },
    ],
  },
  {
    name: 'testOnBuildWithCacheMount',
    dockerfile: 'FROM busybox\nONBUILD RUN --mount=type=cache,target=/cache echo -n 42 >> /cache/foo && echo -n 11 >> /bar\n',
    opts: { tags: ['bk-testonbuildcache:base'] },
    freshStore: true,
    builds: [
      {
        dockerfile: 'FROM bk-testonbuildcache:base\nRUN --mount=type=cache,target=/cache [ "$(cat /cache/foo)" = "42" ] && [ "$(cat /bar)" = "11" ]\n',
        opts: { tags: [] },
      },
    ],
  },
];

runCases('buildkit: ONBUILD (dockerfile_onbuild_test.go)', cases);

/**
 * BuildKit's multi-stage tests (frontend/dockerfile/dockerfile_multistage_test.go) as cases:
 * COPY --from an image or a stage, stage names' case, order of stages, empty Dockerfiles.
 */
import { runCases, type Case } from './harness.js';

const outOfOrder = (src: string): Case => ({
  name: `testOutOfOrderStage/${src}`,
  what: 'COPY --from a stage defined later is refused',
  // upstream's second stage is alpine; busybox serves
  dockerfile: `FROM busybox AS target\nCOPY --from=build ${src} /out\nFROM busybox AS build\nCOPY /Dockerfile /d2\nFROM target\n`,
  // BuildKit: cannot copy from stage "build", it needs to be defined before current stage "target";
  // mybuild words the same refusal: … refers to stage "build" (1), which is defined after this stage
  error: /cannot copy from stage "build"[\s\S]*needs to be defined before current stage|refers to stage "build" .*defined after this stage/,
});

const cases: Case[] = [
  {
    name: 'testMultiStageImplicitFrom',
    what: 'COPY --from=<image> reads the image; a stage of the same name masks it',
    dockerfile: 'FROM scratch\nCOPY --from=busybox /etc/passwd test\n',
    files: { test: /root/ },
    builds: [
      {
        dockerfile: 'FROM busybox AS golang\nRUN mkdir -p /usr/bin && echo -n foo > /usr/bin/go\nFROM scratch\nCOPY --from=golang /usr/bin/go go\n',
        files: { go: /foo/ },
      },
    ],
  },
  {
    name: 'testMultiStageCaseInsensitive',
    dockerfile: 'FROM scratch AS STAge0\nCOPY foo bar\nFROM scratch AS staGE1\nCOPY --from=staGE0 bar baz\nFROM scratch\nCOPY --from=stage1 baz bax\n',
    context: { foo: 'foo-contents' },
    opts: { target: 'Stage1' },
    files: { baz: /foo-contents/ },
  },
  outOfOrder('/'),
  outOfOrder('/d2'),
  {
    name: 'testEmptyStages',
    dockerfile: 'ARG foo=bar',
    // mybuild words it: the Dockerfile has no FROM instruction: nothing to build
    error: /dockerfile contains no stages to build|has no FROM instruction: nothing to build/,
  },
];

runCases('buildkit: multi-stage (dockerfile_multistage_test.go)', cases);

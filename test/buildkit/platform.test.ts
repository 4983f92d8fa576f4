/**
 * BuildKit's platform tests (frontend/dockerfile/dockerfile_platform_test.go) as cases: the
 * automatic platform ARGs in FROM and RUN.
 */
import { runCases, type Case } from './harness.js';

const cases: Case[] = [
  {
    name: 'testPlatformArgsImplicit',
    what: 'TARGETOS is defined for FROM without an ARG',
    dockerfile: 'FROM scratch AS build-linux\nCOPY foo bar\nFROM build-${TARGETOS}\nCOPY foo2 bar2\n',
    context: { foo: 'd0', foo2: 'd1' },
    files: { bar: 'd0', bar2: 'd1' },
  },
  {
    name: 'testPlatformArgsExplicit',
    what: 'a stage FROM --platform=$BUILDPLATFORM sees TARGETPLATFORM of --platform, and a TARGETOS build arg wins',
    dockerfile: 'FROM --platform=$BUILDPLATFORM busybox AS build\nARG TARGETPLATFORM\nARG TARGETOS\nRUN mkdir /out && echo -n $TARGETPLATFORM > /out/platform && echo -n $TARGETOS > /out/os\nFROM scratch\nCOPY --from=build out .\n',
    opts: { platform: 'darwin/ppc64le', buildArgs: { TARGETOS: 'freebsd' } },
    files: { platform: 'darwin/ppc64le', os: 'freebsd' },
  },
  { name: 'testPlatformWithOSVersion', dockerfile: '', skip: 'Windows platforms (windows/bar with os.version 1.2.3 and 1.1.0)' },
  { name: 'testMaintainBaseOSVersion', dockerfile: '', skip: 'Windows platform (windows/amd64 with os.version 10.0.20348.1006)' },
];

runCases('buildkit: platforms (dockerfile_platform_test.go)', cases);

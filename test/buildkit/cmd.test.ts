/**
 * BuildKit's CMD/ENTRYPOINT/SHELL tests (frontend/dockerfile/dockerfile_cmd_test.go) as cases:
 * the image config they write, and the errors of bad commands and instructions.
 */
import assert from 'node:assert/strict';
import { runCases, type Case } from './harness.js';

const cases: Case[] = [
  {
    name: 'testCmdShell',
    what: 'ENTRYPOINT in shell form uses SHELL and clears the base image CMD',
    dockerfile: 'FROM scratch\nCMD ["test"]\n',
    opts: { tags: ['bk-cmdoverridetest:latest'] },
    builds: [
      {
        dockerfile: 'FROM bk-cmdoverridetest:latest\nSHELL ["ls"]\nENTRYPOINT my entrypoint\n',
        opts: { tags: [] },
        check: (r) => {
          assert.equal(r.build.config.config?.Cmd, undefined);
          assert.deepEqual(r.build.config.config?.Entrypoint, ['ls', 'my entrypoint']);
        },
      },
    ],
  },
  {
    name: 'testDefaultShellAndPath/linux/amd64',
    what: 'a FROM scratch image gets /bin/sh -c and the default PATH',
    dockerfile: 'FROM scratch\nENTRYPOINT foo bar\nCOPY Dockerfile .\n',
    opts: { platform: 'linux/amd64' },
    check: (r) => {
      assert.equal(r.build.manifest.layers.length, 1);
      assert.deepEqual(r.build.config.config?.Entrypoint, ['/bin/sh', '-c', 'foo bar']);
      assert.deepEqual(r.build.config.config?.Env, ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin']);
    },
  },
  { name: 'testDefaultShellAndPath/windows/amd64', dockerfile: '', skip: 'Windows platform (cmd /S /C entrypoint, no PATH)' },
  { name: 'testDefaultPathEnvOnWindows', dockerfile: '', skip: 'Windows only (nanoserver %PATH%)' },
  {
    name: 'testIgnoreEntrypoint',
    what: 'RUN does not go through the ENTRYPOINT',
    dockerfile: 'FROM busybox\nENTRYPOINT ["/nosuchcmd"]\nRUN ["ls"]\n',
  },
  {
    name: 'testInvalidJSONCommands',
    what: 'text after a JSON array is an error in RUN; ENTRYPOINT []text is shell form',
    // upstream uses alpine and hands the second image over through a registry; busybox and the store serve
    dockerfile: 'FROM busybox\nRUN ["echo", "hello"]this is invalid\n',
    error: 'this is invalid',
    builds: [
      {
        dockerfile: 'FROM busybox\nENTRYPOINT []random string\n',
        check: (r) => assert.deepEqual(r.build.config.config?.Entrypoint, ['/bin/sh', '-c', '[]random string']),
      },
    ],
  },
  {
    name: 'testDockerfileInvalidCommand',
    dockerfile: '\tFROM busybox\n\tRUN invalidcmd\n',
    error: /\/bin\/sh -c invalidcmd[\s\S]*did not complete successfully/,
  },
  {
    name: 'testDockerfileInvalidInstruction',
    dockerfile: 'FROM scratch\nFNTRYPOINT ["/bin/sh", "-c", "echo invalidinstruction"]\n',
    error: /unknown instruction: FNTRYPOINT[\s\S]*did you mean ENTRYPOINT\?/,
  },
];

runCases('buildkit: CMD, ENTRYPOINT, SHELL (dockerfile_cmd_test.go)', cases);

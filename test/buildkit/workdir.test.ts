/**
 * BuildKit's WORKDIR tests (frontend/dockerfile/dockerfile_workdir_test.go) as cases: the
 * directory it creates, its owner, reproducibility with SOURCE_DATE_EPOCH.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { runCliProcess, tempDir } from '../helpers/build.js';
import { runCases, type Case } from './harness.js';

// The fixture's busybox has no adduser: the user is appended as adduser -D would.
const addUser = "RUN echo 'user:x:1000:1000::/home/user:/bin/sh' >> /etc/passwd && echo 'user:x:1000:' >> /etc/group";
const epoch = String(Date.UTC(2023, 0, 10, 15, 34, 56) / 1000);

const cases: Case[] = [
  {
    name: 'testWorkdirCreatesDir',
    dockerfile: 'FROM scratch\nWORKDIR /foo\nWORKDIR /\n',
    files: { foo: { type: 'dir' } },
    todo: 'issue 16: WORKDIR in a FROM scratch stage fails: "unable to find user root: no matching entries in passwd file" (BuildKit creates it as 0:0)',
  },
  {
    name: 'testWorkdirSourceDateEpochReproducible',
    what: 'with SOURCE_DATE_EPOCH, a WORKDIR image is byte-identical when rebuilt without cache',
    // upstream's base is alpine, and it prunes the cache between the builds; here both builds
    // run with --no-cache, a second apart
    dockerfile: 'FROM busybox\nWORKDIR /mydir\n',
    opts: { buildArgs: { SOURCE_DATE_EPOCH: epoch } },
    check: async (r) => {
      // through the CLI: `--build-arg SOURCE_DATE_EPOCH=…` is how buildx passes upstream's frontend attribute
      const index = async () => {
        const dest = path.join(await tempDir('mybuild-bkoci-'), 'oci');
        const p = await runCliProcess(['--root', r.root, 'build', '--no-cache', '--build-arg', `SOURCE_DATE_EPOCH=${epoch}`, '--output', `type=oci,dest=${dest},tar=false`, '.'], { cwd: r.contextDir });
        assert.equal(p.code, 0, p.stderr);
        return readFile(path.join(dest, 'index.json'), 'utf8');
      };
      const first = await index();
      await new Promise((resolve) => setTimeout(resolve, 1100));
      assert.equal(await index(), first);
    },
  },
  {
    name: 'testWorkdirUser',
    what: 'WORKDIR creates the dir owned by USER',
    dockerfile: `FROM busybox\n${addUser}\nUSER user\nWORKDIR /mydir\nRUN [ "$(stat -c "%U %G" /mydir)" == "user user" ]\n`,
  },
  {
    name: 'testWorkdirCopyIgnoreRelative',
    what: 'COPY --from=stage of a relative path reads from the stage root, not its WORKDIR',
    dockerfile: 'FROM scratch AS base\nWORKDIR /foo\nCOPY Dockerfile /\nFROM scratch\n# relative path still loaded as absolute\nCOPY --from=base Dockerfile .\n',
    todo: 'issue 16: WORKDIR in a FROM scratch stage fails: "unable to find user root: no matching entries in passwd file"',
  },
  {
    name: 'testWorkdirExists',
    what: 'WORKDIR of an existing dir keeps its owner',
    dockerfile: `FROM busybox\n${addUser}\nRUN mkdir /mydir && chown user:user /mydir\nWORKDIR /mydir\nRUN [ "$(stat -c "%U %G" /mydir)" == "user user" ]\n`,
  },
];

runCases('buildkit: WORKDIR (dockerfile_workdir_test.go)', cases);

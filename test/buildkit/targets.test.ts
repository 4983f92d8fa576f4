/**
 * BuildKit's frontend subrequest tests (frontend/dockerfile/dockerfile_targets_test.go) as cases,
 * through the CLI's `--call` (buildx's `--call targets,format=json` prints the same targets.List).
 */
import assert from 'node:assert/strict';
import { runCliProcess } from '../helpers/build.js';
import { runCases, type Case } from './harness.js';

// upstream's first base is alpine; busybox:1 stands in (the base is only named, never pulled)
const targetsDf = `
# build defines stage for compiling the binary
FROM busybox:1 AS build
RUN true

FROM busybox as second
RUN false

FROM busybox:1
RUN false

# binary returns the compiled binary
FROM second AS binary
`;

interface Target { name?: string; description?: string; base?: string; default?: boolean; location?: { sourceIndex?: number; ranges?: { start?: { line?: number } }[] } }

const cases: Case[] = [
  {
    name: 'testTargetsList',
    what: 'the targets subrequest lists every stage with its name, base, description, default and line',
    dockerfile: targetsDf,
    // the build itself would run RUN false: only the subrequest is made
    noBuild: true,
    check: async (r) => {
          const p = await runCliProcess(['--root', r.root, 'build', '--call', 'targets,format=json', '.'], { cwd: r.contextDir });
          assert.equal(p.code, 0, p.stderr);
          const list = JSON.parse(p.stdout) as { targets: Target[]; sources: string[] };
          assert.equal(list.sources.length, 1);
          assert.equal(Buffer.from(list.sources[0], 'base64').toString(), targetsDf);
          assert.equal(list.targets.length, 4);
          const want: [string, string, string, boolean, number][] = [
            ['build', 'busybox:1', 'defines stage for compiling the binary', false, 3],
            ['second', 'busybox', '', false, 6],
            ['', 'busybox:1', '', false, 9],
            ['binary', '', 'returns the compiled binary', true, 13],
          ];
          want.forEach(([name, base, description, dflt, line], i) => {
            const t = list.targets[i];
            assert.equal(t.name ?? '', name, `target ${i} name`);
            if (base) assert.equal(t.base, base, `target ${i} base`);
            assert.equal(t.description ?? '', description, `target ${i} description`);
            assert.equal(t.default ?? false, dflt, `target ${i} default`);
            assert.equal(t.location?.sourceIndex ?? 0, 0);
            assert.equal(t.location?.ranges?.[0]?.start?.line, line, `target ${i} line`);
          });
    },
  },
  {
    name: 'testTargetsDescribeDefinition',
    what: 'subrequests.describe lists frontend.targets as an rpc with a version',
    dockerfile: 'FROM scratch\nCOPY Dockerfile Dockerfile\n',
    noBuild: true,
    check: async (r) => {
      const p = await runCliProcess(['--root', r.root, 'build', '--call', 'subrequests.describe,format=json', '.'], { cwd: r.contextDir });
      assert.equal(p.code, 0, p.stderr);
      const reqs = JSON.parse(p.stdout) as { name: string; type: string; version: string }[];
      const t = reqs.find((q) => q.name === 'frontend.targets');
      assert.ok(t, p.stdout);
      assert.equal(t.type, 'rpc');
      assert.notEqual(t.version, '');
      // buildx prints the text form with subrequests.PrintDescribe.
      const text = await runCliProcess(['--root', r.root, 'build', '--call', 'subrequests.describe', '.'], { cwd: r.contextDir });
      assert.equal(text.code, 0, text.stderr);
      assert.match(text.stdout, /^NAME +VERSION +DESCRIPTION\noutline +1\.0\.0 +List all parameters current build target supports\ntargets +1\.0\.0 +List all targets current build supports\n/);
    },
  },
];

runCases('buildkit: frontend subrequests (dockerfile_targets_test.go)', cases);

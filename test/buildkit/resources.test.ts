/**
 * BuildKit's RUN resource tests (frontend/dockerfile/dockerfile_resources_test.go, with the
 * device and ssh tests of dockerfile_rundevice_test.go and dockerfile_ssh_test.go) as cases,
 * through the CLI flags docker build has for them (--shm-size, --ulimit, --memory, --ssh).
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { runCliProcess, tempDir } from '../helpers/build.js';
import { runCases, type Case, type CaseResult } from './harness.js';

async function cliBuild(r: CaseResult, flags: string[]): Promise<string> {
  const out = path.join(await tempDir('mybuild-bkout-'), 'out');
  const p = await runCliProcess(['--root', r.root, 'build', ...flags, '--output', `type=local,dest=${out}`, '.'], { cwd: r.contextDir });
  assert.equal(p.code, 0, p.stderr);
  return out;
}

const cases: Case[] = [
  {
    name: 'testShmSize',
    dockerfile: 'FROM busybox AS base\nRUN mount | grep /dev/shm > /shmsize\nFROM scratch\nCOPY --from=base /shmsize /\n',
    noBuild: true,
    check: async (r) => assert.match(await readFile(path.join(await cliBuild(r, ['--shm-size', '134217728']), 'shmsize'), 'utf8'), /size=131072k/),
  },
  {
    name: 'testUlimit',
    dockerfile: 'FROM busybox AS base\nRUN ulimit -n > /ulimit\nFROM scratch\nCOPY --from=base /ulimit /\n',
    noBuild: true,
    check: async (r) => assert.equal((await readFile(path.join(await cliBuild(r, ['--ulimit', 'nofile=1062:1062']), 'ulimit'), 'utf8')).trim(), '1062'),
  },
  {
    name: 'testCgroupParent',
    dockerfile: '',
    skip: 'it creates a cgroup with pids.max=10 in the host\'s /sys/fs/cgroup for --cgroup-parent; mybuild has no --cgroup-parent (nothing to run it against)',
  },
  {
    name: 'testLinuxResources',
    what: '--memory sets the RUN cgroup\'s memory.max',
    // upstream's base is alpine; busybox serves. Upstream skips without cgroup v2 (memory.max);
    // on a cgroup v1 host the same limit is memory/memory.limit_in_bytes.
    dockerfile: 'FROM busybox AS base\nRUN mkdir /out && (cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes) > /out/memory\nFROM scratch\nCOPY --from=base /out /\n',
    noBuild: true,
    check: async (r) => assert.equal((await readFile(path.join(await cliBuild(r, ['--memory', '67108864']), 'memory'), 'utf8')).trim(), '67108864'),
  },
  {
    name: 'testDeviceRunEnv',
    dockerfile: '',
    skip: 'CDI devices (RUN --device=vendor1.com/device=foo) need a CDI spec directory configured for the builder; mybuild has no CDI support',
  },
  {
    name: 'testSSHSocketParams',
    what: 'an ssh mount\'s socket takes mode, uid and gid',
    dockerfile: 'FROM busybox\nRUN --mount=type=ssh,mode=741,uid=100,gid=102 [ "$(stat -c "%u %g %f" $SSH_AUTH_SOCK)" = "100 102 c1e1" ]\n',
    noBuild: true,
    check: async (r) => {
      const key = path.join(await tempDir('mybuild-bkssh-'), 'key');
      const { execFileSync } = await import('node:child_process');
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
      await cliBuild(r, ['--ssh', `default=${key}`]);
    },
  },
  {
    name: 'testSSHFileDescriptorsClosed',
    dockerfile: '',
    skip: 'network: apk add openssh-client from the Alpine mirrors and ssh to github.com',
  },
];

runCases('buildkit: RUN resources, devices, ssh (dockerfile_resources_test.go, dockerfile_rundevice_test.go, dockerfile_ssh_test.go)', cases);

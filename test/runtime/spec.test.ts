import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_CAPABILITIES, DEFAULT_PATH, generateSpec, MASKED_PATHS, type ExecSpec, type ExecUser } from '../../src/runtime/spec.js';

const etc = { hosts: '/b/hosts', resolvConf: '/b/resolv.conf', hostname: '/b/hostname' };
const base: ExecSpec & { user: ExecUser } = { args: ['sh', '-c', 'true'], env: ['A=1'], cwd: '/w', user: { uid: 0, gid: 0 }, hostname: 'h', network: 'none' };

describe('generateSpec', () => {
  it('isolates by default: namespaces, caps, masked paths, ro /etc binds, no new privileges', () => {
    const s = generateSpec(base, '/b/rootfs', etc, { maxOpenFiles: 20000 });
    assert.deepEqual(s.linux.namespaces.map((n) => n.type).sort(), ['ipc', 'mount', 'network', 'pid', 'uts']);
    assert.deepEqual(s.process.capabilities.effective, DEFAULT_CAPABILITIES);
    assert.equal(DEFAULT_CAPABILITIES.length, 14);
    assert.ok(MASKED_PATHS.every((p) => s.linux.maskedPaths.includes(p)));
    assert.equal(s.process.noNewPrivileges, true);
    assert.deepEqual(s.process.env, [DEFAULT_PATH, 'A=1']);
    assert.deepEqual(s.process.rlimits, [{ type: 'RLIMIT_NOFILE', hard: 20000, soft: 20000 }]);
    const sys = s.mounts.find((m) => m.destination === '/sys')!;
    assert.equal(sys.type, 'sysfs');
    assert.ok(sys.options.includes('ro'));
    for (const d of ['/etc/hosts', '/etc/resolv.conf', '/etc/hostname']) {
      const m = s.mounts.find((x) => x.destination === d)!;
      assert.equal(m.type, 'bind');
      assert.ok(m.options.includes('ro'), d);
    }
  });

  it('sandbox network: joins the namespace made for it (netnsPath); sysfs of its own', () => {
    const s = generateSpec({ ...base, network: 'sandbox' }, '/r', etc, { netnsPath: '/proc/42/ns/net' });
    assert.deepEqual(s.linux.namespaces.find((n) => n.type === 'network'), { type: 'network', path: '/proc/42/ns/net' });
    assert.equal(s.mounts.find((m) => m.destination === '/sys')!.type, 'sysfs');
  });

  it('rootless with a one-id mapping: devpts without gid=5 (unmapped); with a range it keeps it', () => {
    const pts = (mappedIds?: number) => generateSpec(base, '/r', etc, mappedIds === undefined ? {} : { mappedIds }).mounts.find((m) => m.destination === '/dev/pts')!.options;
    assert.ok(pts().includes('gid=5'));
    assert.ok(pts(65537).includes('gid=5'));
    assert.equal(pts(1).includes('gid=5'), false);
  });

  it('host network: no network namespace, /sys bound; non-root gets no effective caps', () => {
    const s = generateSpec({ ...base, network: 'host', env: ['PATH=/x'], user: { uid: 1000, gid: 1000, additionalGids: [5] }, tty: true }, '/r', etc);
    assert.equal(s.linux.namespaces.some((n) => n.type === 'network'), false);
    assert.equal(s.mounts.find((m) => m.destination === '/sys')!.type, 'bind');
    assert.deepEqual(s.process.capabilities.effective, []);
    // The primary gid is always among the additional ones (CVE-2023-25173, BuildKit's ensureAdditionalGids).
    assert.deepEqual(s.process.user, { uid: 1000, gid: 1000, additionalGids: [1000, 5] });
    assert.deepEqual(generateSpec({ ...base, user: { uid: 0, gid: 0 } }, '/r', etc).process.user, { uid: 0, gid: 0, additionalGids: [0] });
    assert.deepEqual(generateSpec({ ...base, user: { uid: 1, gid: 7, additionalGids: [3, 7] } }, '/r', etc).process.user, { uid: 1, gid: 7, additionalGids: [3, 7] });
    assert.deepEqual(s.process.env, ['PATH=/x', 'TERM=xterm']);
    assert.equal(s.process.terminal, true);
  });

  it('adds RUN --mount mounts', () => {
    const s = generateSpec({ ...base, mounts: [{ type: 'bind', source: '/ctx', target: '/src', options: ['ro'] }, { type: 'tmpfs', source: 'tmpfs', target: '/cache', options: ['size=1m'] }] }, '/r', etc);
    assert.deepEqual(s.mounts.at(-2), { destination: '/src', type: 'bind', source: '/ctx', options: ['rbind', 'ro'] });
    assert.deepEqual(s.mounts.at(-1), { destination: '/cache', type: 'tmpfs', source: 'tmpfs', options: ['size=1m'] });
  });
});

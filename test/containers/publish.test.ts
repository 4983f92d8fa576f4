/**
 * `-p` and `--network` forms of `mybuild run` and their Docker API mapping (HostConfig
 * PortBindings and NetworkMode in containers/create). Pure: the forwarding itself is tested in
 * test/runtime/usernet.test.ts and test/containers/run.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BuildError } from '../../src/errors.js';
import { parseNetworkFlag, parsePublish } from '../../src/containers/options.js';
import { createOptions } from '../../src/daemon/create-request.js';

describe('-p and --network', () => {
  it('parses [IP:]HOST:CONTAINER[/PROTO]', () => {
    assert.deepEqual(parsePublish('8080:80'), { hostPort: 8080, containerPort: 80, protocol: 'tcp' });
    assert.deepEqual(parsePublish('127.0.0.1:8080:80/udp'), { hostIp: '127.0.0.1', hostPort: 8080, containerPort: 80, protocol: 'udp' });
    assert.deepEqual(parsePublish('[::1]:8080:80'), { hostIp: '::1', hostPort: 8080, containerPort: 80, protocol: 'tcp' });
  });

  it('refuses what it does not do, naming it', () => {
    const rows: [string, RegExp][] = [
      ['80', /a host port is required/],
      [':80', /a host port is required/],
      ['8080-8081:80-81', /port ranges are not supported/],
      ['8080:80/sctp', /protocol "sctp" is not tcp or udp/],
      ['localhost:8080:80', /host address "localhost" is not an IP address/],
      ['70000:80', /host port "70000" is not a port number/],
    ];
    for (const [spec, re] of rows) {
      assert.throws(() => parsePublish(spec), (e: unknown) => e instanceof BuildError && e.code === 'INVALID_ARGUMENT' && re.test(e.message), spec);
    }
  });

  it('--network: default, bridge and slirp4netns are the sandbox; none; host; others refused', () => {
    for (const v of ['default', 'bridge', 'slirp4netns']) assert.equal(parseNetworkFlag(v), 'sandbox');
    assert.equal(parseNetworkFlag('none'), 'none');
    assert.equal(parseNetworkFlag('host'), 'host');
    assert.throws(() => parseNetworkFlag('mynet'), /network "mynet" is not supported/);
  });

  it('containers/create: NetworkMode default joins bridge (the daemon\'s network), PortBindings become published ports; no HostPort picks a free one', async () => {
    const o = await createOptions({ Image: 'busybox', HostConfig: { NetworkMode: 'bridge', PortBindings: { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '8080' }, { HostPort: '8081' }], '53/udp': [{ HostIp: '::1', HostPort: '5353' }] } } }, undefined);
    assert.equal(o.network, 'bridge');
    assert.deepEqual(o.publish, [
      { hostIp: '127.0.0.1', hostPort: 8080, containerPort: 80, protocol: 'tcp' },
      { hostPort: 8081, containerPort: 80, protocol: 'tcp' },
      { hostIp: '::1', hostPort: 5353, containerPort: 53, protocol: 'udp' },
    ]);
    assert.equal((await createOptions({ Image: 'busybox' }, undefined)).network, 'bridge');
    assert.equal((await createOptions({ Image: 'busybox', HostConfig: { NetworkMode: 'none' } }, undefined)).network, 'none');
    const free = await createOptions({ Image: 'busybox', HostConfig: { PortBindings: { '80/tcp': [{ HostPort: '' }] } } }, undefined);
    assert.ok((free.publish?.[0]?.hostPort ?? 0) > 0, JSON.stringify(free.publish));
  });
});

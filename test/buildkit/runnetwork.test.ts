/**
 * BuildKit's RUN --network tests (frontend/dockerfile/dockerfile_runnetwork_test.go) as cases.
 * An echo server on 127.0.0.1 answers "foo" (upstream's echoserver); only a RUN in the host's
 * network namespace reaches it.
 */
import { after } from 'node:test';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { runCases, type Case } from './harness.js';

const server = net.createServer((s) => s.end('foo\n'));
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
after(() => server.close());
const port = (server.address() as AddressInfo).port;
// Upstream: without the entitlement buildkitd refuses ("entitlement network.host is not allowed"),
// dockerd's BuildKit allows host networking; mybuild follows dockerd (as `docker build` does).

const cases: Case[] = [
  {
    name: 'testRunDefaultNetwork',
    dockerfile: '',
    skip: 'needs a bridge network (eth0) in RUN; here RUN has only loopback, and the tests may not create host interfaces (upstream also runs it only with BUILDKIT_RUN_NETWORK_INTEGRATION_TESTS)',
  },
  {
    name: 'testRunNoNetwork',
    what: '--network=none has no eth0 (the rootless form of the upstream test: no eth0 check after it)',
    dockerfile: 'FROM busybox\nRUN --network=none ! ip link show eth0\n',
  },
  {
    name: 'testRunHostNetwork/granted',
    what: '--network=host reaches a server on the host\'s 127.0.0.1; a default RUN does not',
    dockerfile: `FROM busybox\nRUN --network=host nc 127.0.0.1 ${port} | grep foo\nRUN ! nc 127.0.0.1 ${port} | grep foo\n`,
    opts: { allow: ['network.host'] },
  },
  {
    name: 'testRunHostNetwork/not granted (dockerd)',
    what: 'without --allow network.host the build runs, as under dockerd',
    dockerfile: `FROM busybox\nRUN --network=host nc 127.0.0.1 ${port} | grep foo\n`,
  },
  {
    name: 'testRunGlobalNetwork/granted',
    what: 'the build-wide host network (force-network-mode=host, --network host) applies to RUN; --network=none still isolates',
    dockerfile: `FROM busybox\nRUN nc 127.0.0.1 ${port} | grep foo\nRUN --network=none ! nc -z 127.0.0.1 ${port}\n`,
    opts: { network: 'host', allow: ['network.host'] },
  },
  {
    name: 'testRunGlobalNetwork/not granted (dockerd)',
    what: 'without --allow network.host the build runs, as under dockerd',
    dockerfile: `FROM busybox\nRUN nc 127.0.0.1 ${port} | grep foo\nRUN --network=none ! nc -z 127.0.0.1 ${port}\n`,
    opts: { network: 'host' },
  },
];

runCases('buildkit: RUN --network (dockerfile_runnetwork_test.go)', cases);

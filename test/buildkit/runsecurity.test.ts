/**
 * BuildKit's RUN --security tests (frontend/dockerfile/dockerfile_runsecurity_test.go) as cases,
 * with the security.insecure entitlement granted and denied (upstream's two sandbox modes).
 */
import { readFileSync } from 'node:fs';
import { runCases, type Case } from './harness.js';

// --security=insecure gets every capability this process holds: where the host's bounding set
// lacks some (a container without CAP_SYS_RESOURCE, say), upstream's full-set check cannot hold.
const capBnd = BigInt(`0x${/CapBnd:\s*([0-9a-f]+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? '0'}`);
const hostCaps = (capBnd & 0x3fffffffffn) === 0x3fffffffffn ? undefined : `this host's capability bounding set is ${capBnd.toString(16)}: it lacks some of the 38 capabilities the check expects`;

const defaultCaps = 'RUN [ "$(cat /proc/self/status | grep CapBnd)" == "CapBnd:\t00000000a80425fb" ]';
// mybuild: RUN --security=insecure needs the security.insecure entitlement
const denied = /entitlement security.insecure is not allowed|needs the security.insecure entitlement/;

const cases: Case[] = [
  {
    name: 'testInsecureDevicesWhitelist',
    dockerfile: '',
    skip: 'network: apk add fuse e2fsprogs from the Alpine mirrors, and the tonistiigi/hellofs image',
  },
  {
    name: 'testRunSecurityInsecure/granted',
    what: '--security=insecure has every capability; a plain RUN after it has the default set',
    dockerfile: `FROM busybox\nRUN --security=insecure [ "$(printf '%x' $(( $(cat /proc/self/status | grep CapBnd | cut -f 2 | sed s#^#0x#) & 0x3fffffffff)))" == "3fffffffff" ]\n${defaultCaps}\n`,
    opts: { allow: ['security.insecure'] },
    skip: hostCaps,
  },
  {
    name: 'testRunSecurityInsecure/denied',
    dockerfile: `FROM busybox\nRUN --security=insecure [ "$(printf '%x' $(( $(cat /proc/self/status | grep CapBnd | cut -f 2 | sed s#^#0x#) & 0x3fffffffff)))" == "3fffffffff" ]\n${defaultCaps}\n`,
    error: denied,
  },
  {
    name: 'testRunSecuritySandbox',
    dockerfile: 'FROM busybox\nRUN --security=sandbox [ "$(cat /proc/self/status | grep CapBnd)" == "CapBnd:\t00000000a80425fb" ]\n',
  },
  {
    name: 'testRunSecurityDefault/granted',
    what: 'with the entitlement granted, a plain RUN still has the default capabilities',
    dockerfile: `FROM busybox\n${defaultCaps}\n`,
    opts: { allow: ['security.insecure'] },
  },
  {
    name: 'testRunSecurityDefault/denied',
    what: 'the entitlement is not needed by a RUN that does not ask for it',
    dockerfile: `FROM busybox\n${defaultCaps}\n`,
  },
];

runCases('buildkit: RUN --security (dockerfile_runsecurity_test.go)', cases);

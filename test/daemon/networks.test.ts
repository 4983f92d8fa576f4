/**
 * Issue 20's networks through the daemon with the real docker CLI: the /networks documents
 * (create with IPAM, inspect, list filters, remove, prune, dockerd's errors), containers on a
 * user-defined network reaching each other by name and alias through the embedded DNS
 * (127.0.0.11), `-p` on a network, connect/disconnect of a running container, and the cleanup
 * (no agent or slirp4netns left after network rm and daemon stop, leftovers of a killed daemon
 * ended at start). The host's links, addresses, routes and iptables rules are compared before
 * and after (test/helpers/host-network.ts): nothing may change there.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { NetworkService } from '../../src/containers/networks/service.js';
import { hostNetworkState } from '../helpers/host-network.js';
import { apiRequest, docker, dockerMissing, loadBusybox, notRoot, runCmd, runcMissing, startTestDaemon, type TestDaemon } from './helpers.js';

const skip = notRoot || runcMissing || dockerMissing;

/** This process's children that run a network (the agents under unshare, slirp4netns). */
async function networkChildren(): Promise<string[]> {
  const r = await runCmd('ps', ['-o', 'pid=,args=', '--ppid', String(process.pid)]);
  return r.stdout.split('\n').filter((l) => /slirp4netns|unshare --net|node -e/.test(l));
}

function httpGet(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http.get(url, { timeout: 5000 }, (res) => {
      let b = '';
      res.on('data', (d: Buffer) => (b += d.toString('utf8')));
      res.on('end', () => resolve(b));
    }).on('error', reject);
  });
}

describe('daemon networks', { skip, timeout: 600_000 }, () => {
  let d: TestDaemon;
  let hostBefore: string;
  before(async () => {
    hostBefore = await hostNetworkState();
    d = await startTestDaemon();
    await loadBusybox(d);
  });
  after(async () => {
    await d?.stop();
  });

  it('creates, inspects, lists (filters), removes and prunes networks in dockerd\'s shapes', async () => {
    const ls = async (filter?: string): Promise<string[]> =>
      (await docker(d, ['network', 'ls', '--format', '{{.Name}}', ...(filter ? ['--filter', filter] : [])])).stdout.split('\n').filter(Boolean).sort();
    assert.deepEqual(await ls(), ['bridge', 'host', 'none']);
    const c = await apiRequest(d, 'POST', '/networks/create', {
      Name: 'ipamnet', CheckDuplicate: true, Labels: { 'com.example.k': 'v' },
      IPAM: { Driver: 'default', Config: [{ Subnet: '172.28.0.0/16', IPRange: '172.28.5.0/24', Gateway: '172.28.5.254', AuxiliaryAddresses: { a: '172.28.1.5' } }] },
    });
    assert.equal(c.status, 201, c.body);
    const id = (JSON.parse(c.body) as { Id: string }).Id;
    const doc = JSON.parse((await apiRequest(d, 'GET', `/networks/${id.slice(0, 10)}`)).body) as Record<string, any>;
    assert.equal(doc.Name, 'ipamnet');
    assert.equal(doc.Driver, 'bridge');
    assert.equal(doc.Scope, 'local');
    assert.equal(doc.IPAM.Options, null);
    assert.deepEqual(doc.IPAM.Config, [{ Subnet: '172.28.0.0/16', IPRange: '172.28.5.0/24', Gateway: '172.28.5.254', AuxiliaryAddresses: { a: '172.28.1.5' } }]);
    assert.deepEqual(doc.Labels, { 'com.example.k': 'v' });
    assert.deepEqual(doc.Containers, {});
    // The next network gets the next default pool.
    assert.equal((await docker(d, ['network', 'create', 'plain'])).code, 0);
    assert.equal((await docker(d, ['network', 'inspect', '-f', '{{(index .IPAM.Config 0).Subnet}} {{(index .IPAM.Config 0).Gateway}}', 'plain'])).stdout.trim(), '172.18.0.0/16 172.18.0.1');
    assert.deepEqual(await ls('label=com.example.k=v'), ['ipamnet']);
    assert.deepEqual(await ls('name=ipam'), ['ipamnet']);
    assert.deepEqual(await ls(`id=${id.slice(0, 12)}`), ['ipamnet']);
    assert.deepEqual(await ls('type=custom'), ['ipamnet', 'plain']);
    assert.deepEqual(await ls('type=builtin'), ['bridge', 'host', 'none']);
    assert.deepEqual(await ls('driver=null'), ['none']);
    assert.deepEqual(await ls('dangling=true'), ['ipamnet', 'plain']);
    assert.equal((await apiRequest(d, 'GET', '/networks?filters={"bogus":{"x":true}}')).status, 400);
    // dockerd's errors: duplicate name (CheckDuplicate), overlapping pool, predefined networks, other drivers.
    assert.equal((await apiRequest(d, 'POST', '/networks/create', { Name: 'plain', CheckDuplicate: true })).status, 409);
    assert.equal((await apiRequest(d, 'POST', '/networks/create', { Name: 'overlap', IPAM: { Config: [{ Subnet: '172.28.0.0/24' }] } })).status, 403);
    assert.equal((await apiRequest(d, 'DELETE', '/networks/bridge')).status, 403);
    assert.equal((await apiRequest(d, 'POST', '/networks/create', { Name: 'h', Driver: 'host' })).status, 403);
    const overlay = await apiRequest(d, 'POST', '/networks/create', { Name: 'o', Driver: 'overlay' });
    assert.equal(overlay.status, 400);
    assert.match((JSON.parse(overlay.body) as { message: string }).message, /network driver "overlay" is not supported/);
    assert.equal((await apiRequest(d, 'GET', '/networks/nosuch')).status, 404);
    assert.equal((await docker(d, ['network', 'rm', 'ipamnet'])).code, 0);
    const pruned = JSON.parse((await apiRequest(d, 'POST', '/networks/prune')).body) as { NetworksDeleted: string[] };
    assert.deepEqual(pruned.NetworksDeleted, ['plain']);
    assert.deepEqual(await ls(), ['bridge', 'host', 'none']);
  });

  it('containers on a network reach each other by name and alias through 127.0.0.11; -p publishes; the host is unchanged', async () => {
    assert.equal((await docker(d, ['network', 'create', 'appnet'])).code, 0);
    const web = await docker(d, ['run', '-d', '--name', 'web', '--network', 'appnet', '--network-alias', 'www', '-p', '127.0.0.1:18231:80', 'busybox', 'sh', '-c', 'mkdir -p /w && echo served-by-web > /w/index.html && exec httpd -f -p 80 -h /w']);
    assert.equal(web.code, 0, web.stderr);
    const client = await docker(d, ['run', '--rm', '--network', 'appnet', 'busybox', 'sh', '-c', 'grep nameserver /etc/resolv.conf; for i in $(seq 40); do wget -qO- http://web/ && break; sleep 0.25; done; wget -qO- http://www/; nslookup web 127.0.0.11 | grep -A1 "^Name"']);
    assert.equal(client.code, 0, client.stderr);
    assert.match(client.stdout, /^nameserver 127\.0\.0\.11$/m);
    assert.equal(client.stdout.match(/served-by-web/g)?.length, 2, client.stdout);
    const ip = (await docker(d, ['inspect', '-f', '{{.NetworkSettings.Networks.appnet.IPAddress}}', 'web'])).stdout.trim();
    assert.match(ip, /^172\.(1[89]|2\d)\.0\.\d+$/);
    assert.match(client.stdout, new RegExp(`Address: ${ip.replace(/\./g, '\\.')}`));
    assert.equal((await httpGet('http://127.0.0.1:18231/')).trim(), 'served-by-web');
    const net = JSON.parse((await docker(d, ['network', 'inspect', 'appnet'])).stdout)[0] as { Containers: Record<string, { Name: string; IPv4Address: string }> };
    assert.deepEqual(Object.values(net.Containers).map((c) => [c.Name, c.IPv4Address]), [['web', `${ip}/16`]]);
    const aliases = JSON.parse((await docker(d, ['inspect', '-f', '{{json .NetworkSettings.Networks.appnet.Aliases}}', 'web'])).stdout) as string[];
    assert.ok(aliases.includes('www'), aliases.join(','));
    assert.equal((await docker(d, ['ps', '--filter', 'network=appnet', '--format', '{{.Names}}'])).stdout.trim(), 'web');
    assert.equal((await docker(d, ['ps', '--filter', 'network=bridge', '--format', '{{.Names}}'])).stdout.trim(), '');
    // A network in use cannot be removed.
    assert.notEqual((await docker(d, ['network', 'rm', 'appnet'])).code, 0);

    // connect a running container to a second network: reachable there by its name; disconnect.
    assert.equal((await docker(d, ['network', 'create', 'second'])).code, 0);
    assert.equal((await docker(d, ['network', 'connect', '--alias', 'web2', 'second', 'web'])).code, 0);
    assert.notEqual((await docker(d, ['network', 'connect', 'second', 'web'])).code, 0, 'connected twice');
    const viaSecond = await docker(d, ['run', '--rm', '--network', 'second', 'busybox', 'wget', '-qO-', 'http://web2/']);
    assert.equal(viaSecond.stdout.trim(), 'served-by-web', viaSecond.stderr);
    assert.equal((await docker(d, ['network', 'disconnect', 'second', 'web'])).code, 0);
    const gone = await docker(d, ['run', '--rm', '--network', 'second', 'busybox', 'sh', '-c', 'nslookup web2 127.0.0.11 >/dev/null 2>&1 && echo found || echo gone']);
    assert.equal(gone.stdout.trim(), 'gone');
    assert.equal((await docker(d, ['exec', 'web', 'sh', '-c', 'ip -o link | grep -c eth'])).stdout.trim(), '1');

    assert.equal((await docker(d, ['rm', '-f', 'web'])).code, 0);
    assert.equal((await docker(d, ['network', 'rm', 'appnet', 'second'])).code, 0);
    assert.deepEqual(await networkChildren(), [], 'no agent or slirp4netns left after network rm');
    assert.equal(await hostNetworkState(), hostBefore);
  });

  it('a container without --network joins bridge (172.17.0.0/16) and reaches another there by name', async () => {
    assert.equal((await docker(d, ['run', '-d', '--name', 'b1', 'busybox', 'sleep', '60'])).code, 0);
    assert.equal((await docker(d, ['inspect', '-f', '{{.HostConfig.NetworkMode}} {{.NetworkSettings.Networks.bridge.Gateway}}', 'b1'])).stdout.trim(), 'default 172.17.0.1');
    const r = await docker(d, ['run', '--rm', 'busybox', 'ping', '-c', '1', '-W', '3', 'b1']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal((await docker(d, ['rm', '-f', 'b1'])).code, 0);
  });

  it('daemon stop ends every network; a killed daemon\'s leftovers are ended at start', async () => {
    assert.equal((await docker(d, ['network', 'create', 'stopnet'])).code, 0);
    assert.equal((await docker(d, ['run', '-d', '--name', 's1', '--network', 'stopnet', 'busybox', 'sleep', '60'])).code, 0);
    assert.ok((await networkChildren()).length >= 2, 'the network runs an agent and slirp4netns');
    await d.daemon.close();
    assert.deepEqual(await networkChildren(), [], 'nothing left after the daemon stopped');
    assert.equal(await hostNetworkState(), hostBefore);

    // What a killed daemon left: a recorded process still running is ended by the next start.
    const stray = spawn('sleep', ['60'], { stdio: 'ignore', detached: true });
    const start = readFileSync(`/proc/${stray.pid}/stat`, 'utf8').split(') ')[1].split(' ')[19];
    const runDir = path.join(d.root, 'networks', 'run');
    await mkdir(runDir, { recursive: true });
    await writeFile(path.join(runDir, 'f'.repeat(64)), `${stray.pid} ${start}\n`);
    const exited = new Promise((r) => stray.once('exit', r));
    const svc = await NetworkService.open(d.root, path.join(d.root, 'containers'));
    await exited;
    assert.equal(stray.signalCode, 'SIGKILL');
    await svc.close();
  });
});

/**
 * Issue 20's Compose "done when": Debian's docker-compose (1.29) builds and runs a two-service
 * project on its default network through the daemon, the client service reaching the web
 * service by its service name; `ps`, `logs` and `down` work; a container of another project
 * (on its own default network) is untouched by `down --remove-orphans`; `down` removes the
 * project's network; the host's network state is the same before and after.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hostNetworkState } from '../helpers/host-network.js';
import { docker, dockerMissing, loadBusybox, notRoot, runCmd, runcMissing, startTestDaemon, type TestDaemon } from './helpers.js';

const COMPOSE = '/usr/bin/docker-compose';
const skip = notRoot || runcMissing || dockerMissing || (existsSync(COMPOSE) ? false : 'docker-compose (Debian) is not installed');

describe('docker-compose on its default network', { skip, timeout: 600_000 }, () => {
  let d: TestDaemon;
  before(async () => {
    d = await startTestDaemon();
    await loadBusybox(d);
  });
  after(async () => {
    await d?.stop();
  });

  it('builds and runs web + client, the client reaching web by service name; ps, logs, down; another project untouched', async () => {
    const hostBefore = await hostNetworkState();
    const env = { DOCKER_HOST: d.host, DOCKER_CONFIG: path.join(d.dir, 'docker-config'), COMPOSE_DOCKER_CLI_BUILD: '0', DOCKER_BUILDKIT: '0' };
    const project = async (name: string, files: Record<string, string>): Promise<string> => {
      const dir = path.join(d.dir, name);
      for (const [f, text] of Object.entries(files)) {
        await mkdir(path.dirname(path.join(dir, f)), { recursive: true });
        await writeFile(path.join(dir, f), text);
      }
      return dir;
    };
    const p1 = await project('p1', {
      'web/Dockerfile': 'FROM busybox\nRUN mkdir -p /www && echo "hello from web" > /www/index.html\nCMD ["httpd", "-f", "-p", "80", "-h", "/www"]\n',
      'docker-compose.yml': [
        'version: "2.4"',
        'services:',
        '  web:',
        '    build: ./web',
        '  client:',
        '    image: busybox',
        '    depends_on: [web]',
        // Retries while web's httpd starts; exits 0 once it got the page by the service name.
        '    command: sh -c \'for i in $$(seq 40); do wget -qO- http://web/ && exit 0; sleep 0.25; done; exit 1\'',
        '',
      ].join('\n'),
    });
    const p2 = await project('p2', { 'docker-compose.yml': 'version: "2.4"\nservices:\n  other:\n    image: busybox\n    command: sleep 60\n' });
    const dc = (cwd: string, args: string[]) => runCmd(COMPOSE, args, { cwd, env });

    const up2 = await dc(p2, ['up', '-d']);
    assert.equal(up2.code, 0, up2.stderr);
    const up = await dc(p1, ['up', '-d', '--build']);
    assert.equal(up.code, 0, up.stderr);
    assert.match(up.stderr, /Creating network "p1_default"/);

    // The client exits 0 once it fetched the page from http://web/.
    let state = '';
    for (let i = 0; i < 60 && !/exited 0/.test(state); i++) {
      state = (await docker(d, ['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', 'p1_client_1'])).stdout.trim();
      if (!/exited 0/.test(state)) await new Promise((r) => setTimeout(r, 250));
    }
    assert.equal(state, 'exited 0', (await dc(p1, ['logs', '--no-color'])).stdout);
    const logs = await dc(p1, ['logs', '--no-color', 'client']);
    assert.match(logs.stdout, /client_1 +\| hello from web/);
    const ps = await dc(p1, ['ps', '--services', '--filter', 'status=running']);
    assert.deepEqual(ps.stdout.trim().split('\n'), ['web']);
    const nets = JSON.parse((await docker(d, ['inspect', '-f', '{{json .NetworkSettings.Networks}}', 'p1_web_1'])).stdout) as Record<string, { Aliases: string[] }>;
    assert.deepEqual(Object.keys(nets), ['p1_default']);
    assert.ok(nets.p1_default.Aliases.includes('web'), nets.p1_default.Aliases.join(','));

    const down = await dc(p1, ['down', '--remove-orphans', '-t', '1']);
    assert.equal(down.code, 0, down.stderr);
    assert.match(down.stderr, /Removing network p1_default/);
    assert.doesNotMatch(down.stderr, /p2_other/);
    const left = (await docker(d, ['ps', '--format', '{{.Names}}'])).stdout.split('\n').filter(Boolean);
    assert.deepEqual(left, ['p2_other_1'], 'the other project\'s container still runs, nothing of p1 does');
    const networks = (await docker(d, ['network', 'ls', '--format', '{{.Name}}'])).stdout.split('\n').filter(Boolean).sort();
    assert.deepEqual(networks, ['bridge', 'host', 'none', 'p2_default']);
    // p2's container still resolves its service name on its own network.
    const self = await docker(d, ['exec', 'p2_other_1', 'nslookup', 'other', '127.0.0.11']);
    assert.equal(self.code, 0, self.stdout + self.stderr);

    assert.equal((await dc(p2, ['down', '-t', '1'])).code, 0);
    assert.equal(await hostNetworkState(), hostBefore);
  });
});

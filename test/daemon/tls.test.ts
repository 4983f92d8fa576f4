/**
 * Daemon TCP (issue 14): `mybuild daemon -H tcp://127.0.0.1:PORT` without --tlsverify prints
 * dockerd's warning to its stderr at start (every local user gets root through it), and
 * --tlsverify works on loopback end to end: the mybuild client connects with --tlsverify
 * --tlscacert/--tlscert/--tlskey and with DOCKER_TLS_VERIFY/DOCKER_CERT_PATH (the docker CLI
 * too, when installed); a client without a certificate, or without TLS, is refused.
 * Certificates come from openssl (makeTestCA).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { cliSkipReason, runCliProcess } from '../helpers/build.js';
import { cliPath } from '../helpers/paths.js';
import { makeTestCA, type TestCA } from '../helpers/registry.js';
import { DOCKER, runCmd } from './helpers.js';

const skip = cliSkipReason() || (existsSync('/usr/bin/openssl') ? false : 'openssl is not installed');

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

interface RunningDaemon {
  child: ChildProcess;
  stderr: () => string;
  stop(): Promise<void>;
}

/** Starts `mybuild daemon ARGS` as its own process; resolves once it says it listens. */
function startCliDaemon(root: string, args: string[]): Promise<RunningDaemon> {
  const child = spawn(process.execPath, [cliPath, '--root', root, 'daemon', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  return new Promise((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      if (/mybuild daemon listening on/.test(err)) {
        resolve({
          child,
          stderr: () => err,
          stop: () =>
            new Promise<void>((r) => {
              child.once('exit', () => r());
              child.kill('SIGTERM');
            }),
        });
      }
    });
    child.once('exit', (code) => reject(new Error(`the daemon exited (${code}) before listening:\n${err}`)));
  });
}

describe('daemon on TCP: warning without TLS, --tlsverify on loopback', { skip, concurrency: false }, () => {
  let dir: string;
  let root: string;
  let ca: TestCA;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'mybuild-tls-'));
    root = path.join(dir, 'root');
    mkdirSync(path.join(dir, 'ca'));
    ca = await makeTestCA(path.join(dir, 'ca'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('without --tlsverify the daemon warns on its stderr at start, loopback included', async () => {
    const port = await freePort();
    const d = await startCliDaemon(root, ['-H', `tcp://127.0.0.1:${port}`]);
    try {
      assert.match(d.stderr(), new RegExp(`WARNING: Binding to IP address without --tlsverify is insecure and gives root access on this machine to everyone who has access to your network\\. host="tcp://127\\.0\\.0\\.1:${port}"`));
      assert.match(d.stderr(), /even on localhost, gives root access to every user of this machine/);
      const v = await runCliProcess(['-H', `tcp://127.0.0.1:${port}`, 'version']);
      assert.equal(v.code, 0, v.stderr);
    } finally {
      await d.stop();
    }
  });

  it('--tlsverify on 127.0.0.1: clients with a certificate connect (flags, DOCKER_TLS_VERIFY/DOCKER_CERT_PATH, docker), others are refused', async () => {
    const port = await freePort();
    const host = `tcp://127.0.0.1:${port}`;
    const d = await startCliDaemon(root, ['-H', host, '--tlsverify', '--tlscacert', ca.caCert, '--tlscert', ca.serverCert, '--tlskey', ca.serverKey]);
    try {
      assert.doesNotMatch(d.stderr(), /WARNING/);
      // The global flags of the docker CLI.
      const withFlags = await runCliProcess(['-H', host, '--tlsverify', '--tlscacert', ca.caCert, '--tlscert', ca.clientCert, '--tlskey', ca.clientKey, 'images']);
      assert.equal(withFlags.code, 0, withFlags.stderr);
      assert.match(withFlags.stdout, /REPOSITORY/);
      // The docker CLI's environment: ca.pem, cert.pem and key.pem in DOCKER_CERT_PATH.
      const certPath = path.join(dir, 'docker-certs');
      mkdirSync(certPath, { recursive: true });
      copyFileSync(ca.caCert, path.join(certPath, 'ca.pem'));
      copyFileSync(ca.clientCert, path.join(certPath, 'cert.pem'));
      copyFileSync(ca.clientKey, path.join(certPath, 'key.pem'));
      const env = { DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: certPath };
      const withEnv = await runCliProcess(['-H', host, 'version'], { env });
      assert.equal(withEnv.code, 0, withEnv.stderr);
      if (existsSync(DOCKER)) {
        const docker = await runCmd(DOCKER, ['version', '--format', '{{.Server.Version}}'], { env: { ...env, DOCKER_HOST: host } });
        assert.equal(docker.code, 0, docker.stderr);
      }

      // Refused: TLS without a client certificate, and plain HTTP.
      const noCert = await runCliProcess(['-H', host, '--tlsverify', '--tlscacert', ca.caCert, 'images'], { env: { HOME: dir } });
      assert.equal(noCert.code, 1, noCert.stdout);
      assert.match(noCert.stderr, /cannot connect to the mybuild daemon at tcp:\/\/127\.0\.0\.1/);
      assert.doesNotMatch(noCert.stdout, /REPOSITORY/);
      const plain = await runCliProcess(['-H', host, 'images'], { env: { HOME: dir } });
      assert.equal(plain.code, 1, plain.stdout);
      assert.doesNotMatch(plain.stdout, /REPOSITORY/);
      // A server certificate the client's CA did not sign is refused by --tlsverify.
      mkdirSync(path.join(dir, 'other-ca'), { recursive: true });
      const other = await makeTestCA(path.join(dir, 'other-ca'));
      const wrongCa = await runCliProcess(['-H', host, '--tlsverify', '--tlscacert', other.caCert, '--tlscert', ca.clientCert, '--tlskey', ca.clientKey, 'images']);
      assert.equal(wrongCa.code, 1);
      assert.match(wrongCa.stderr, /certificate/i);
    } finally {
      await d.stop();
    }
  });

  it('a TLS flag that names a missing file is a usage error', async () => {
    const r = await runCliProcess(['-H', 'tcp://127.0.0.1:1', '--tlsverify', '--tlscacert', path.join(dir, 'nope.pem'), 'images']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--tlscacert .*nope\.pem/);
  });
});

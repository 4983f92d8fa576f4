/**
 * Daemon test helpers: a daemon on a temp unix socket with a temp root (in-process), the docker
 * CLI runner, and the skip reasons.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import http from 'node:http';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import tar from 'tar-stream';
import { startDaemon, type Daemon, type DaemonOptions } from '../../src/daemon/server.js';
import { ensureBaseImage } from '../helpers/base-image.js';

export const DOCKER = process.env.MYBUILD_TEST_DOCKER ?? '/usr/local/bin/docker';
export const dockerMissing: string | false = existsSync(DOCKER) ? false : `the docker CLI is not installed at ${DOCKER}`;
export const notRoot: string | false = process.getuid?.() === 0 ? false : 'needs root (runc containers, overlay snapshots)';
export const runcMissing: string | false = ['/usr/sbin/runc', '/usr/bin/runc', '/usr/local/sbin/runc', '/usr/local/bin/runc'].some((p) => existsSync(p)) ? false : 'runc is not installed';

export interface TestDaemon {
  dir: string;
  root: string;
  socket: string;
  host: string;
  daemon: Daemon;
  logs: string[];
  stop(): Promise<void>;
}

/** Starts a daemon on `<tmp>/d.sock` with root `<tmp>/root`; `stop()` closes it and removes the dir. */
export async function startTestDaemon(opts: Partial<DaemonOptions> = {}): Promise<TestDaemon> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mybuild-daemon-'));
  const root = path.join(dir, 'root');
  const socket = path.join(dir, 'd.sock');
  const logs: string[] = [];
  const daemon = await startDaemon({ root, hosts: [`unix://${socket}`], log: (l) => logs.push(l), ...opts });
  return {
    dir,
    root,
    socket,
    host: `unix://${socket}`,
    daemon,
    logs,
    async stop() {
      await daemon.close();
      await rm(dir, { recursive: true, force: true }).catch(() => undefined);
    },
  };
}

export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `cmd args` with `env` (merged over process.env), input piped from `input` when given. Never rejects on a non-zero exit. */
export function runCmd(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; input?: Buffer; timeoutMs?: number } = {}): Promise<Ran> {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { env: { ...process.env, ...opts.env }, cwd: opts.cwd, maxBuffer: 256 << 20, encoding: 'buffer', timeout: opts.timeoutMs ?? 180_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
      resolve({ code, stdout: stdout.toString('utf8'), stderr: stderr.toString('utf8') });
    });
    if (opts.input) child.stdin?.end(opts.input);
    else child.stdin?.end();
  });
}

/** The docker CLI against `d` (legacy builder, no user config). */
export function docker(d: TestDaemon, args: string[], opts: { cwd?: string; input?: Buffer } = {}): Promise<Ran> {
  return runCmd(DOCKER, args, { ...opts, env: { DOCKER_HOST: d.host, DOCKER_BUILDKIT: '0', DOCKER_CONFIG: path.join(d.dir, 'docker-config') } });
}

/** One Engine API request to `d` (JSON body when `body` is given); resolves with the status and the body text. */
export function apiRequest(d: TestDaemon, method: string, p: string, body?: unknown): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = http.request({ socketPath: d.socket, method, path: p, agent: false, headers: data ? { 'Content-Type': 'application/json', 'Content-Length': data.length } : {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(data);
  });
}

/**
 * Loads the busybox fixture into the daemon `d` as `busybox:latest`, as a user would: `docker
 * load` of the layout as a tar, then `docker tag`.
 */
export async function loadBusybox(d: TestDaemon): Promise<void> {
  const layout = await ensureBaseImage();
  const tar = path.join(d.dir, 'base.tar');
  assert.equal((await runCmd('tar', ['-C', layout, '-cf', tar, '.'])).code, 0);
  assert.equal((await docker(d, ['load', '-i', tar])).code, 0);
  assert.equal((await docker(d, ['tag', 'latest:latest', 'busybox:latest'])).code, 0);
}

/** A build context tar (what the docker CLI sends) of `entries`: files, symlinks, hard links. */
export function tarOf(entries: { name: string; type?: 'file' | 'symlink' | 'link'; linkname?: string; data?: string | Buffer }[]): Promise<Buffer> {
  const pack = tar.pack();
  for (const e of entries) {
    if (e.type === 'symlink' || e.type === 'link') pack.entry({ name: e.name, type: e.type, linkname: e.linkname });
    else pack.entry({ name: e.name }, e.data ?? '');
  }
  pack.finalize();
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    pack.on('data', (c: unknown) => void chunks.push(c as Buffer));
    pack.on('end', () => resolve(Buffer.concat(chunks)));
    pack.on('error', reject);
  });
}

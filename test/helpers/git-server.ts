/**
 * Git repositories for tests, served from 127.0.0.1: a work repository made with the git CLI
 * (files, modes, symlinks, commits, tags), published as a bare repository that a small static
 * HTTP server serves over git's dumb HTTP protocol (`git update-server-info`), optionally behind
 * an Authorization header, and that `git daemon` serves over git://.
 *
 *     const repo = await makeGitRepo({ 'a.txt': 'a', 'bin/run': { content: '#!/bin/sh', mode: 0o755 } });
 *     const http = await serveGitHttp(repo);   // http.url('repo.git') → http://127.0.0.1:P/repo.git
 *     const daemon = await serveGitDaemon(repo); // daemon.url('repo.git') → git://127.0.0.1:P/repo.git
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import path from 'node:path';
import { tempDir, writeFiles, type ContextFile } from './build.js';

export interface GitRepo {
  /** The work repository (commit into it with `commit`). */
  work: string;
  /** The directory holding the bare `repo.git` (what the servers serve). */
  base: string;
  /** Commits `files` (added to the tree) and publishes; returns the new commit SHA. */
  commit(files: Record<string, ContextFile>, message?: string): Promise<string>;
  /** Runs git in the work repository; returns stdout trimmed. */
  git(...args: string[]): string;
}

const GIT_ENV = { GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.com', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.com', GIT_CONFIG_NOSYSTEM: '1', HOME: '/nonexistent' };

/** A repository on branch `main` with `files` committed; published as `<base>/repo.git`. */
export async function makeGitRepo(files: Record<string, ContextFile>): Promise<GitRepo> {
  const work = await tempDir('mybuild-git-work-');
  const base = await tempDir('mybuild-git-srv-');
  const bare = path.join(base, 'repo.git');
  const git = (...args: string[]) => execFileSync('git', args, { cwd: work, env: { ...process.env, ...GIT_ENV }, encoding: 'utf8' }).trim();
  git('init', '-q', '-b', 'main');
  const publish = () => {
    execFileSync('git', ['push', '-q', '--force', '--tags', bare, 'main'], { cwd: work, env: { ...process.env, ...GIT_ENV } });
    execFileSync('git', ['update-server-info'], { cwd: bare });
  };
  execFileSync('git', ['init', '-q', '--bare', '-b', 'main', bare]);
  const repo: GitRepo = {
    work,
    base,
    git,
    async commit(more, message = 'commit') {
      await writeFiles(work, more);
      git('add', '-A');
      git('commit', '-q', '-m', message);
      publish();
      return git('rev-parse', 'HEAD');
    },
  };
  await repo.commit(files, 'first');
  return repo;
}

export interface Served {
  url(p: string): string;
  close(): Promise<void>;
  /** Requests seen (paths), for tests that check what was fetched. */
  requests: string[];
}

/** Serves `repo.base` over plain HTTP (git's dumb protocol); with `auth`, only to that Authorization header. */
export async function serveGitHttp(repo: GitRepo, opts: { auth?: string } = {}): Promise<Served> {
  const requests: string[] = [];
  const server = http.createServer(async (req, res) => {
    requests.push(req.url ?? '');
    if (opts.auth !== undefined && req.headers.authorization !== opts.auth) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="git"' }).end();
      return;
    }
    const rel = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const file = path.join(repo.base, path.normalize(rel));
    if (!file.startsWith(repo.base + path.sep)) return void res.writeHead(403).end();
    const st = await stat(file).catch(() => null);
    if (!st?.isFile()) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-length': st.size });
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return { url: (p) => `http://127.0.0.1:${port}/${p}`, requests, close: () => new Promise((r) => server.close(() => r())) };
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** Serves `repo.base` with `git daemon` on 127.0.0.1 (git://). */
export async function serveGitDaemon(repo: GitRepo): Promise<Served> {
  const port = await freePort();
  const child: ChildProcess = spawn('git', ['daemon', '--export-all', '--reuseaddr', `--base-path=${repo.base}`, '--listen=127.0.0.1', `--port=${port}`, repo.base], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((r) => {
      const c = net.connect(port, '127.0.0.1', () => (c.end(), r(true)));
      c.on('error', () => r(false));
    });
    if (ok) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url: (p) => `git://127.0.0.1:${port}/${p}`,
    requests: [],
    close: async () => {
      child.kill();
      await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
    },
  };
}

/**
 * A data-driven harness for BuildKit's own frontend tests (moby/buildkit
 * frontend/dockerfile/*_test.go) ported as cases: each case names its upstream test, holds the
 * Dockerfile and the context files the test writes, and states the test's assertions as data
 * (files of the exported root filesystem, image config) or as a `check` function. Builds run
 * in-process on the real builder (runc, overlay snapshots) against a store holding the busybox
 * fixture as `busybox:latest` (BuildKit's tests use busybox too).
 *
 *     runCases('buildkit: COPY', [
 *       { name: 'testCopyVarSubstitution', dockerfile: 'FROM scratch\nENV FOO bar\nCOPY $FOO baz\n',
 *         context: { bar: 'bar-contents' }, files: { baz: 'bar-contents' } },
 *     ]);
 *
 * A case that mybuild fails today carries `todo: 'issue 16: <what differs>'`: it runs and reports,
 * and does not fail the suite (node:test todo). Cases with an `error` expect the build to fail
 * with a message containing (or matching) it.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmod, lstat, lutimes, mkdir, readdir, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import tarStream from 'tar-stream';
import type { BuildOptions } from '../../src/builder/options.js';
import type { ImageConfig } from '../../src/oci/types.js';
import { buildContext, buildSkipReason, cleanupTemp, makeStoreRoot, tempDir, type InProcessBuild } from '../helpers/build.js';

/** A context entry: text, text with a mode, a directory, a symlink or a unix socket. */
export type Entry = string | { content: string | Buffer; mode?: number } | { dir: true; mode?: number } | { symlink: string } | { socket: true; mode?: number };

/** What a file of the exported root filesystem must be. */
export type FileExpect =
  | string // exact contents
  | RegExp // contents match
  | { content?: string | RegExp; mode?: number; uid?: number; gid?: number; symlink?: string; type?: 'file' | 'dir' | 'symlink' }
  | null; // absent

/** One build of a case (a case with `builds` runs several in one context, in order). */
export interface BuildStep {
  /** Replaces context files before this build (null removes one). */
  update?: Record<string, Entry | null>;
  dockerfile?: string;
  /** Builds this Dockerfile of the context instead of the case's. */
  dockerfileName?: string;
  opts?: Partial<BuildOptions>;
  error?: string | RegExp | ((err: unknown) => void);
  files?: Record<string, FileExpect>;
  check?: (r: CaseResult) => void | Promise<void>;
}

export interface Case {
  /** The upstream test function, e.g. `testCopyChmod` (a suffix `/sub` names a sub-case). */
  name: string;
  /** What the case shows, in a few words. */
  what?: string;
  /** The Dockerfile ('' when the context holds it, e.g. as a symlink). */
  dockerfile: string;
  /** Name of the Dockerfile in the context (default `Dockerfile`). */
  dockerfileName?: string;
  /** The context files (a function when they are made asynchronously, e.g. tarballs). */
  context?: Record<string, Entry> | (() => Promise<Record<string, Entry>>);
  /** Paths served over HTTP on 127.0.0.1 for the case; `{{URL}}` in the Dockerfile is the server's base. */
  http?: Record<string, HttpFile>;
  opts?: Partial<BuildOptions>;
  /** The build fails, with this in its message (or the function accepts the error). */
  error?: string | RegExp | ((err: unknown) => void);
  /** Files of the exported root filesystem (`--output type=local`). */
  files?: Record<string, FileExpect>;
  /** Assertions on the image config. */
  config?: (img: ImageConfig) => void;
  check?: (r: CaseResult) => void | Promise<void>;
  /** Further builds in the same context and store (cache tests). */
  builds?: BuildStep[];
  /** Only `check` runs (with no build result): for cases that drive the CLI themselves. */
  noBuild?: boolean;
  /** Runs in a store of its own (cache mounts and tags of other cases must not be seen). */
  freshStore?: boolean;
  todo?: string;
  skip?: string;
}

export interface HttpFile {
  content: string | Buffer;
  lastModified?: Date;
  etag?: string;
}

export interface CaseResult {
  build: InProcessBuild;
  /** The exported root filesystem. */
  out: string;
  /** Contents of `rel` under the exported root filesystem. */
  read(rel: string): Promise<string>;
  contextDir: string;
  root: string;
  /** The case's HTTP server (`http://127.0.0.1:PORT`), when it has one. */
  url?: string;
  /** Requests the case's HTTP server saw (method and path, in order). */
  requests: { method: string; path: string; userAgent?: string }[];
}

interface Served {
  url: string;
  requests: CaseResult['requests'];
  close(): Promise<void>;
}

/** Serves `files` on 127.0.0.1 with ETag and Last-Modified, answering HEAD and GET. */
async function serve(files: Record<string, HttpFile>): Promise<Served> {
  const requests: CaseResult['requests'] = [];
  const server = http.createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    requests.push({ method: req.method ?? '', path: u.pathname, userAgent: req.headers['user-agent'] });
    const f = files[u.pathname];
    if (!f) {
      res.writeHead(404).end();
      return;
    }
    const body = Buffer.from(f.content);
    const headers: Record<string, string> = { 'content-length': String(body.length), etag: `"${f.etag ?? 'e1'}"` };
    if (f.lastModified) headers['last-modified'] = f.lastModified.toUTCString();
    res.writeHead(200, headers);
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, requests, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** A tar archive of `entries` (name → text, or a header with type, linkname, mode). */
export async function tarball(entries: { name: string; content?: string; type?: 'file' | 'directory' | 'symlink' | 'link'; linkname?: string; mode?: number; uid?: number; gid?: number; mtime?: Date }[], gzip = false): Promise<Buffer> {
  const pack = tarStream.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (d: unknown) => chunks.push(d as Buffer));
  const done = new Promise<void>((resolve, reject) => pack.on('end', resolve).on('error', reject));
  for (const e of entries) {
    const { content, ...header } = e;
    await new Promise<void>((resolve, reject) => pack.entry({ type: 'file', mode: 0o644, ...header }, content ?? '', (err) => (err ? reject(err) : resolve())));
  }
  pack.finalize();
  await done;
  const tar = Buffer.concat(chunks);
  return gzip ? gzipSync(tar) : tar;
}

/** Unix socket servers of the running case's context (closed when it ends). */
const sockets: net.Server[] = [];

async function writeEntries(dir: string, files: Record<string, Entry | null>): Promise<void> {
  await mkdir(dir, { recursive: true });
  const modes: [string, number][] = [];
  for (const [rel, e] of Object.entries(files)) {
    const p = path.join(dir, rel);
    await mkdir(path.dirname(p), { recursive: true });
    await rm(p, { force: true, recursive: true });
    if (e === null) continue;
    if (typeof e === 'string') await writeFile(p, e);
    else if ('symlink' in e) await symlink(e.symlink, p);
    else if ('dir' in e) {
      await mkdir(p, { recursive: true });
      if (e.mode !== undefined) modes.push([p, e.mode]);
    } else if ('socket' in e) {
      // A listening unix socket (Node unlinks it on close, so it stays open until the case ends).
      const server = net.createServer();
      await new Promise<void>((resolve, reject) => server.listen(p, resolve).on('error', reject));
      sockets.push(server);
      if (e.mode !== undefined) modes.push([p, e.mode]);
    } else {
      await writeFile(p, e.content);
      if (e.mode !== undefined) await chmod(p, e.mode);
    }
  }
  // Directory modes last, so files can be written into a 0500 directory first.
  for (const [p, m] of modes.reverse()) await chmod(p, m);
}

async function checkFile(out: string, rel: string, want: FileExpect): Promise<void> {
  const p = path.join(out, rel);
  const st = await lstat(p).catch(() => undefined);
  if (want === null) {
    assert.equal(st, undefined, `${rel} should be absent`);
    return;
  }
  if (!st) {
    const parent = path.dirname(p);
    const seen = await readdir(parent).then((l) => l.join(' '), () => '(parent absent too)');
    assert.fail(`${rel} is absent from the output (${path.relative(out, parent) || '.'}: ${seen})`);
  }
  if (typeof want === 'string' || want instanceof RegExp) want = { content: want };
  if (want.type) assert.equal(st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : st.isFile() ? 'file' : 'other', want.type, `${rel}: type`);
  if (want.symlink !== undefined) {
    assert.ok(st.isSymbolicLink(), `${rel} should be a symlink`);
    assert.equal(await readlink(p), want.symlink, `${rel}: link target`);
  }
  if (want.mode !== undefined) assert.equal((st.mode & 0o7777).toString(8).padStart(4, '0'), want.mode.toString(8).padStart(4, '0'), `${rel}: mode`);
  if (want.uid !== undefined) assert.equal(st.uid, want.uid, `${rel}: uid`);
  if (want.gid !== undefined) assert.equal(st.gid, want.gid, `${rel}: gid`);
  if (want.content !== undefined) {
    const text = await readFile(p, 'utf8');
    if (want.content instanceof RegExp) assert.match(text, want.content, `${rel}: contents`);
    else assert.equal(text, want.content, `${rel}: contents`);
  }
}

/**
 * The error as the user reads it: the message and, on its own line, mybuild's hint (the CLI prints
 * `hint: …`, the daemon appends it to errorDetail.message); BuildKit's "did you mean X?" is a hint here.
 */
function errorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const hint = (err as { hint?: unknown }).hint;
  return typeof hint === 'string' && hint !== '' ? `${err.message}\nhint: ${hint}` : err.message;
}

function errorMatches(err: unknown, want: string | RegExp | ((err: unknown) => void)): void {
  if (typeof want === 'function') return want(err);
  const msg = errorText(err);
  if (want instanceof RegExp) assert.match(msg, want);
  else assert.ok(msg.includes(want), `error ${JSON.stringify(msg)} should contain ${JSON.stringify(want)}`);
}

/** One build of a case: a failure expected by `error`, or the image plus its root filesystem. */
async function runStep(root: string, contextDir: string, caseName: string, step: BuildStep & { dockerfile: string; config?: Case['config'] }, served?: Served): Promise<void> {
  const name = step.dockerfileName ?? caseName;
  if (step.dockerfile !== '') await writeFile(path.join(contextDir, name), served ? step.dockerfile.replaceAll('{{URL}}', served.url) : step.dockerfile);
  const out = path.join(await tempDir('mybuild-bkout-'), 'out');
  const opts: Partial<BuildOptions> = { dockerfilePath: path.join(contextDir, name), dockerfileName: name, ...step.opts };
  const wantsFs = step.files !== undefined || step.check !== undefined;
  if (wantsFs && !step.error) opts.outputs = [...(step.opts?.outputs ?? [{ type: 'image' }]), { type: 'local', dest: out }];
  let build: InProcessBuild;
  try {
    build = await buildContext(root, contextDir, opts);
  } catch (err) {
    if (step.error !== undefined) return errorMatches(err, step.error);
    throw err;
  }
  if (step.error !== undefined) assert.fail(`the build should fail with ${step.error}`);
  for (const [rel, want] of Object.entries(step.files ?? {})) await checkFile(out, rel, want);
  step.config?.(build.config);
  await step.check?.({ build, out, contextDir, root, url: served?.url, requests: served?.requests ?? [], read: (rel) => readFile(path.join(out, rel), 'utf8') });
}

/** /etc/passwd and /etc/group of Docker Hub's busybox image, which BuildKit's tests rely on (daemon, nobody, wheel…). */
const hubPasswd = `root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
bin:x:2:2:bin:/bin:/bin/false
sys:x:3:3:sys:/dev:/bin/false
sync:x:4:100:sync:/bin:/bin/sync
mail:x:8:8:mail:/var/spool/mail:/bin/false
www-data:x:33:33:www-data:/var/www:/bin/false
operator:x:37:37:Operator:/var:/bin/false
nobody:x:65534:65534:nobody:/home:/bin/false
`;
const hubGroup = `root:x:0:
daemon:x:1:
bin:x:2:
sys:x:3:
adm:x:4:
tty:x:5:
disk:x:6:
lp:x:7:
mail:x:8:
kmem:x:9:
wheel:x:10:root
cdrom:x:11:
dialout:x:18:
floppy:x:19:
video:x:28:
audio:x:29:
tape:x:32:
www-data:x:33:
operator:x:37:
utmp:x:43:
plugdev:x:46:
staff:x:50:
lock:x:54:
netdev:x:82:
users:x:100:
nobody:x:65534:
`;

/** Re-tags `busybox:latest` in the store at `root` as the fixture plus Docker Hub busybox's users, groups and /bin layout. */
async function dockerHubUsers(root: string): Promise<void> {
  const ctx = await tempDir('mybuild-bkbase-');
  // Docker Hub's busybox has every applet in /bin (Debian's has awk and others in /usr/bin).
  const bin = Object.fromEntries(['awk'].map((a) => [`hub/bin/${a}`, { symlink: '/bin/busybox' }]));
  await writeEntries(ctx, { 'hub/etc/passwd': hubPasswd, 'hub/etc/group': hubGroup, 'hub/etc/shadow': { content: '', mode: 0o640 }, ...bin, Dockerfile: 'FROM busybox\nCOPY hub/ /\n' });
  // The same image in every store (cache tests move caches between stores): fixed times.
  for (const rel of ['hub/etc/passwd', 'hub/etc/group', 'hub/etc/shadow', ...Object.keys(bin), 'hub/bin', 'hub/etc', 'hub']) await lutimes(path.join(ctx, rel), 0, 0);
  await buildContext(root, ctx, { tags: ['busybox:latest'], sourceDateEpoch: 0 });
}

/** A new store whose `busybox:latest` is the fixture with Docker Hub busybox's users (as the cases expect). */
export async function makeBkStore(): Promise<string> {
  const root = await makeStoreRoot();
  await dockerHubUsers(root);
  return root;
}

/** Registers `cases` as a describe block of node:test `it`s, one per case. */
export function runCases(title: string, cases: Case[]): void {
  const skip = buildSkipReason();
  describe(title, { skip }, () => {
    let sharedRoot: string;
    before(async () => {
      sharedRoot = await makeBkStore();
    });
    after(cleanupTemp);
    for (const c of cases) {
      const label = c.what ? `${c.name}: ${c.what}` : c.name;
      it(label, { todo: c.todo, skip: c.skip }, async () => {
        const root = c.freshStore ? await makeBkStore() : sharedRoot;
        const contextDir = await tempDir('mybuild-bkctx-');
        const dfName = c.dockerfileName ?? 'Dockerfile';
        await writeEntries(contextDir, typeof c.context === 'function' ? await c.context() : (c.context ?? {}));
        const served = c.http ? await serve(c.http) : undefined;
        try {
          if (c.noBuild) {
            if (c.dockerfile !== '') await writeFile(path.join(contextDir, dfName), served ? c.dockerfile.replaceAll('{{URL}}', served.url) : c.dockerfile);
            await c.check?.({ build: undefined as unknown as InProcessBuild, out: '', contextDir, root, url: served?.url, requests: served?.requests ?? [], read: () => Promise.reject(new Error('no build')) });
          } else await runStep(root, contextDir, dfName, c, served);
          for (const b of c.builds ?? []) {
            if (b.update) await writeEntries(contextDir, b.update);
            await runStep(root, contextDir, dfName, { ...b, dockerfile: b.dockerfile ?? c.dockerfile, opts: { ...c.opts, ...b.opts } }, served);
          }
        } finally {
          await served?.close();
          for (const sock of sockets.splice(0)) await new Promise<void>((resolve) => sock.close(() => resolve()));
        }
      });
    }
  });
}

/**
 * ADD: as COPY, plus local tar archives (plain, gzip, bzip2, xz, zstd) extracted into the
 * destination (keeping the archive's owners, modes and links), and http(s) URLs downloaded, with
 * `--checksum` verified, and git repositories cloned (./add-git.ts). A downloaded archive is
 * extracted only with `--unpack=true` (BuildKit's AttemptUnpack; Docker's rule otherwise).
 */
import { createReadStream } from 'node:fs';
import { lstat, mkdir, mkdtemp, open, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { BuildError, PlanError, DigestMismatchError } from '../../errors.js';
import { createDecompressor, detectCompression } from '../../image/compression.js';
import type { LayerEntry } from '../../image/layer-entry.js';
import { CHECKSUM_HINT, isGitSource, isUrlSource, parseChecksum, type AddCommand } from '../../plan/index.js';
import { applyLayer } from '../../runtime/extract.js';
import { chmodOf, copyStep, resolveDest } from '../copy-files.js';
import { entryFromDisk, isDirIn, parentEntries } from '../fs-entries.js';
import { workdir } from '../state.js';
import type { Handler, LayerStep, StepContext } from './handler.js';
import { compareLayerPaths, writeLayer, BUILD_LAYER_COMPRESSION } from '../../image/layer-writer.js';
import { HttpValidators } from '../../cache/http-validators.js';
import { fetchUrl, resolveUrl, type UrlFetchOptions, type UrlSource } from '../url-source.js';
import { resolveUser } from '../../runtime/user.js';
import { gitStep } from './add-git.js';
import { storeLayout } from '../../store/layout.js';


/** Whether the file is a (possibly compressed) tar archive: the ustar magic at offset 257. */
export async function isTarArchive(file: string): Promise<boolean> {
  const fh = await open(file, 'r');
  let head: Buffer;
  try {
    head = Buffer.alloc(512);
    const { bytesRead } = await fh.read(head, 0, 512, 0);
    head = head.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
  const kind = detectCompression(head);
  if (kind === 'none') return head.length >= 262 && head.toString('latin1', 257, 262) === 'ustar';
  const dec = createDecompressor(kind);
  const src = createReadStream(file);
  src.pipe(dec);
  try {
    let got = Buffer.alloc(0);
    for await (const chunk of dec) {
      got = Buffer.concat([got, chunk as Buffer]);
      if (got.length >= 262) break;
    }
    return got.length >= 262 && got.toString('latin1', 257, 262) === 'ustar';
  } catch {
    return false;
  } finally {
    src.destroy();
    dec.destroy();
  }
}

/**
 * The entries of an extracted archive at `dir`, placed under `destRoot`, with the owners and
 * modes extraction gave them (the archive's, or ADD --chown's: see extractArchive). Files that
 * share an inode (the archive's hard links) become hard link entries to the first path in
 * layer order.
 */
async function walkEntries(dir: string, destRoot: string): Promise<LayerEntry[]> {
  const out: LayerEntry[] = [];
  const inodes = new Map<string, LayerEntry[]>();
  const visit = async (rel: string): Promise<void> => {
    for (const d of await readdir(path.join(dir, rel), { withFileTypes: true })) {
      const childRel = rel ? `${rel}/${d.name}` : d.name;
      const host = path.join(dir, childRel);
      const e = await entryFromDisk(host, path.posix.join(destRoot, childRel));
      if (e) {
        out.push(e);
        if (e.type === 'file') {
          const info = await lstat(host);
          if (info.nlink > 1) {
            const k = `${info.dev}:${info.ino}`;
            inodes.set(k, [...(inodes.get(k) ?? []), e]);
          }
        }
      }
      if (d.isDirectory()) await visit(childRel);
    }
  };
  await visit('');
  for (const group of inodes.values()) {
    if (group.length < 2) continue;
    const [first, ...rest] = [...group].sort((a, b) => compareLayerPaths(a.path, b.path));
    for (const e of rest) {
      e.type = 'hardlink';
      e.linkname = first!.path;
      e.size = 0;
      delete e.source;
    }
  }
  return out;
}

/**
 * Extracts the (possibly compressed) tar `archive` into a new directory under `<root>/tmp` (kept
 * in `tmpDirs` for cleanup) and returns its entries under `destDir`: the archive's contents go
 * into the destination, as a directory (ADD's rule). With `owner` (ADD --chown) every entry of
 * the archive is owned by it, as current BuildKit unpacks (since 2025, testDockerfileAddChownArchive;
 * BuildKit 0.8 and Buildah keep the archive's owners); directories only implied stay root's.
 */
async function extractArchive(archive: string, root: string, tmpDirs: string[], destDir: string, owner?: { uid: number; gid: number }): Promise<LayerEntry[]> {
  const tmp = await mkdtemp(path.join(storeLayout(root).tmp, 'add-'));
  tmpDirs.push(tmp);
  const head = Buffer.alloc(6);
  const fh = await open(archive, 'r');
  await fh.read(head, 0, 6, 0).finally(() => fh.close());
  const kind = detectCompression(head);
  const raw = createReadStream(archive);
  const tar = kind === 'none' ? raw : raw.pipe(createDecompressor(kind));
  await applyLayer(tar as Readable, tmp, { whiteouts: 'delete', ...(owner ? { owner } : {}) });
  return walkEntries(tmp, destDir);
}

/** The flags BuildKit writes in an ADD's history (convert_copy.go): --chown and --chmod only. */
function historyFlags(cmd: AddCommand): string[] {
  return [...(cmd.chown !== undefined ? [`--chown=${cmd.chown}`] : []), ...(cmd.chmod !== undefined ? [`--chmod=${cmd.chmod}`] : [])];
}

export const addHandler: Handler<AddCommand> = {
  async apply(ctx) {
    const { session, stage, options, cmd } = ctx;
    const source = session.source(cmd.node.range);
    if (cmd.paths.some(isGitSource)) {
      if (cmd.paths.length !== 1 || cmd.contents.length) throw new PlanError('ADD of a git repository with other sources in one instruction is not supported by mybuild yet', { source, hint: 'give the repository an ADD instruction of its own' });
      const words = [...historyFlags(cmd), cmd.paths[0]!, cmd.dest];
      const tmpDirs: string[] = [];
      return withCleanup(await gitStep(ctx, cmd.paths[0]!, words, tmpDirs), tmpDirs);
    }
    const urls = cmd.paths.filter(isUrlSource);
    const locals = cmd.paths.filter((p) => !isUrlSource(p));
    if (cmd.checksum !== undefined) {
      const at = session.source(cmd.node.flags.find((f) => f.name === 'checksum')?.range ?? cmd.node.range);
      const parsed = parseChecksum(cmd.checksum);
      if ('error' in parsed) throw new PlanError(`--checksum=${cmd.checksum}: ${parsed.error}`, { source: at, hint: CHECKSUM_HINT });
      if (urls.length !== 1 || locals.length) throw new PlanError('checksum requires HTTP(S) or Git sources', { source: at, hint: 'mybuild verifies --checksum for http(s) URLs' });
    }
    const words = [...historyFlags(cmd), ...cmd.paths, ...cmd.contents.map((c) => `<<${c.name}`), cmd.dest];
    const tmpDirs: string[] = [];
    const unpack = cmd.unpack !== false;
    if (urls.length === 0) {
      const step = await copyStep(ctx, {
        kind: 'ADD', paths: locals, contents: cmd.contents, dest: cmd.dest, chown: cmd.chown, chmod: cmd.chmod,
        parents: false, exclude: cmd.exclude, words, range: cmd.node.range, chmodRange: cmd.node.flags.find((f) => f.name === 'chmod')?.range, extraParts: [`unpack=${unpack}`, ...(unpack && cmd.chown !== undefined ? ['unpack-owner=chown'] : [])],
        transform: unpack
          ? async (host, destDir, owner) => ((await isTarArchive(host)) ? extractArchive(host, options.root, tmpDirs, destDir, owner) : null)
          : undefined,
      });
      return withCleanup(step, tmpDirs);
    }
    if (locals.length || cmd.contents.length) throw new PlanError('ADD with URLs and local files in one instruction is not supported by mybuild yet', { source, hint: 'split it into two ADD instructions' });
    return urlStep(ctx, urls, words, tmpDirs);
  },
};

function withCleanup(step: LayerStep, dirs: string[]): LayerStep {
  return {
    ...step,
    produce: async () => {
      try {
        return await step.produce();
      } finally {
        for (const d of dirs) await rm(d, { recursive: true, force: true });
      }
    },
  };
}

/**
 * ADD of URLs (../url-source.ts): every URL is downloaded or revalidated by its ETag (its digest
 * is part of the key, so a changed remote file misses), checked against --checksum, and written
 * 0600 as BuildKit does (--chmod applies to that mode).
 */
async function urlStep(ctx: StepContext<AddCommand>, urls: string[], words: string[], tmpDirs: string[]): Promise<LayerStep> {
  const { session, stage, options, worker, cmd } = ctx;
  const source = session.source(cmd.node.range);
  const chmod = cmd.chmod !== undefined ? chmodOf(cmd.chmod, session.source(cmd.node.flags.find((f) => f.name === 'chmod')?.range ?? cmd.node.range)) : undefined;
  const tmp = await mkdtemp(path.join(storeLayout(options.root).tmp, 'add-url-'));
  tmpDirs.push(tmp);
  const parsed = cmd.checksum !== undefined ? parseChecksum(cmd.checksum) : undefined;
  const algorithm = parsed && 'algorithm' in parsed ? parsed.algorithm : 'sha256';
  // With --checksum every build downloads and checks the body; without, a recorded ETag is revalidated.
  const validators = cmd.checksum === undefined ? await HttpValidators.open(options.root, storeLayout(options.root).tmp) : undefined;
  const fetchOpts = (i: number): UrlFetchOptions => ({ file: path.join(tmp, String(i)), algorithm, signal: session.signal, source, ...(validators ? { validators } : {}) });
  const files: UrlSource[] = [];
  for (const [i, url] of urls.entries()) {
    const f = await resolveUrl(url, fetchOpts(i));
    if (cmd.checksum !== undefined && cmd.checksum !== f.digest) {
      throw new DigestMismatchError(`ADD ${url}: checksum mismatch: expected ${cmd.checksum}, got ${f.digest}`, { source });
    }
    files.push(f);
  }
  const wd = workdir(stage);
  const parts = [`cmd=ADD ${JSON.stringify([...urls, cmd.dest])}`, `workdir=${wd}`, ...files.map((f) => `url:${f.url}=${f.digest}`)];
  // BuildKit's http cache key has the Last-Modified time too (it is the file's mtime).
  for (const f of files) if (f.lastModified) parts.push(`url-modified:${f.url}=${f.lastModified}`);
  if (cmd.chown !== undefined) parts.push(`chown=${cmd.chown}`);
  if (cmd.chmod !== undefined) parts.push(`chmod=${cmd.chmod}`);
  if (cmd.checksum !== undefined) parts.push(`checksum=${cmd.checksum}`);
  if (cmd.unpack === true) parts.push('unpack=true', ...(cmd.chown !== undefined ? ['unpack-owner=chown'] : []));
  const step: LayerStep = {
    provenance: { http: files.map((f) => ({ url: f.url, digest: f.digest })) },
    parts,
    createdBy: `ADD ${words.join(' ')} # buildkit`,
    produce: async () => {
      const rootfs = await worker.layers();
      return rootfs.withView(stage.layers, async (base) => {
        const owner = cmd.chown !== undefined ? await resolveUser(base, cmd.chown) : { uid: 0, gid: 0 };
        const absDest = resolveDest(base, cmd.dest, wd, source);
        const destIsDir = cmd.dest.endsWith('/') || files.length > 1 || (await isDirIn(base, absDest));
        const entries: LayerEntry[] = [];
        for (const [i, f] of files.entries()) {
          const file = await fetchUrl(f, fetchOpts(i));
          if (cmd.unpack === true && (await isTarArchive(file))) {
            // BuildKit's AttemptUnpack (ADD --unpack=true <url>): the archive's contents into dest.
            entries.push(...(await extractArchive(file, options.root, tmpDirs, absDest, cmd.chown !== undefined ? owner : undefined)));
            continue;
          }
          const e = await entryFromDisk(file, destIsDir ? path.posix.join(absDest, f.name) : absDest, { owner, mode: chmod ? chmod.apply(0o600, false) : 0o600 });
          if (e) entries.push(e);
        }
        const parents = await parentEntries(entries, base, owner, Date.now());
        return writeLayer([...parents, ...entries], worker.content, { compression: BUILD_LAYER_COMPRESSION, sourceDateEpoch: options.sourceDateEpoch });
      });
    },
  };
  await mkdir(tmp, { recursive: true });
  return withCleanup(step, tmpDirs);
}

/**
 * `POST /build`: the legacy builder endpoint. The body is the context as a tar (extracted
 * safely with extractContextTar into a warm directory under `<root>/daemon/contexts`, see
 * ../context-dirs.ts: unchanged files are not rewritten, so the stat cache hits); the
 * query carries `t` (repeatable), `dockerfile`, `buildargs` and `labels` (JSON), `target`,
 * `nocache`, `pull`, `q`, `platform`, `shmsize`, `extrahosts`; the tar may be compressed. The answer is Docker's JSON message stream: `stream`
 * lines as the legacy builder prints them (`Step 1/3 : FROM …`, ` ---> Using cache`, the RUN
 * output, `Successfully built <id>`, `Successfully tagged <name>`), `aux.ID` with the image
 * ID, and `errorDetail` on failure. A client that disconnects cancels the build.
 */
import path from 'node:path';
import type { BuildEvent } from '../../builder/events.js';
import { defaultBuildOptions } from '../../builder/options.js';
import { BuildError, UsageError } from '../../errors.js';
import { boolParam, byteLimit, JsonLines, jsonMapParam } from '../http.js';
import { buildNetwork, buildResources, refuseUnmappedBuildParams } from '../build-params.js';
import type { Route, RouteRequest } from '../server.js';
import { registryAuthFromHeader } from '../../api/auth.js';
import { createDecompressor, detectCompression, peek } from '../../image/compression.js';

/** The Dockerfile path inside the context from the `dockerfile` query value. Throws for paths that leave it. */
export function dockerfileInContext(q: string | null): string {
  const name = q || 'Dockerfile';
  const norm = path.posix.normalize(name.replace(/\\/g, '/'));
  if (norm.startsWith('/') || norm === '..' || norm.startsWith('../')) {
    throw new UsageError(`the dockerfile parameter "${name}" must name a file inside the build context`, { hint: 'send the Dockerfile inside the context tar' });
  }
  return norm;
}

/** Turns build events into legacy-builder JSON messages on `out` (nothing but the ID when `quiet`). */
export function legacyProgress(out: JsonLines, quiet: boolean): (e: BuildEvent) => void {
  let total = 0;
  let lastNewline = true;
  return (e) => {
    if (quiet) return;
    switch (e.type) {
      case 'build-start':
        // A multi-platform build starts once per platform, numbering on: the highest step so far.
        total = Math.max(total, ...e.steps.map((st) => st.step));
        break;
      case 'step-start':
        out.stream(`${lastNewline ? '' : '\n'}Step ${e.info.step}/${total || e.info.total} : ${e.info.instruction}\n`);
        lastNewline = true;
        break;
      case 'step-cache':
        if (e.hit) out.stream(' ---> Using cache\n');
        break;
      case 'step-output':
        // The legacy builder prints a step's stderr in red (ESC[91m … ESC[0m).
        out.stream(e.stream === 'stderr' ? `\x1b[91m${e.data}\x1b[0m` : e.data);
        lastNewline = e.data.endsWith('\n');
        break;
      case 'step-error':
        break;
      case 'warning':
        out.stream(`[Warning] ${e.message}\n`);
        break;
      case 'result':
        break;
      default:
        break;
    }
  };
}

/** The legacy builder's text for a failed RUN: "The command '…' returned a non-zero code: N". */
export function legacyError(err: unknown): unknown {
  if (!(err instanceof BuildError) || err.code !== 'STEP_FAILED') return err;
  const m = /^process "([\s\S]*)" did not complete successfully: exit code: (\d+)$/.exec(err.message);
  return m ? new BuildError('STEP_FAILED', `The command '${m[1]}' returned a non-zero code: ${m[2]}`, { ...(err.hint ? { hint: err.hint } : {}) }) : err;
}

/** An `extrahosts` entry, `name:ip` (the ip may hold colons). */
function extraHost(entry: string): { host: string; ip: string } {
  const i = entry.indexOf(':');
  if (i <= 0 || i === entry.length - 1) throw new UsageError(`invalid extrahosts entry "${entry}": expected name:ip`);
  return { host: entry.slice(0, i), ip: entry.slice(i + 1) };
}

async function handleBuild({ req, res, query, state }: RouteRequest): Promise<void> {
  refuseUnmappedBuildParams(query);
  const network = buildNetwork(query.get('networkmode'));
  const resources = buildResources(query);
  if (query.get('remote')) throw new UsageError('building from a remote URL (remote=) is not supported', { hint: 'send the context as a tar body' });
  const dockerfile = dockerfileInContext(query.get('dockerfile'));
  const tags = query.getAll('t').filter((t) => t !== '');
  const quiet = boolParam(query, 'q');
  const buildArgs = jsonMapParam(query, 'buildargs');
  const labels = jsonMapParam(query, 'labels');
  // The client's registry credentials for FROM pulls (registries it has none for: the daemon's own).
  const registryAuth = registryAuthFromHeader(req.headers['x-registry-config']);

  const abort = new AbortController();
  const out = new JsonLines(res);
  const onClose = () => {
    if (!res.writableEnded) abort.abort(new BuildError('CANCELED', 'the client disconnected'));
  };
  res.on('close', onClose);
  state.builds.add(abort);
  // Under <root>/daemon/contexts (not <root>/tmp: the builder empties that when no other build
  // runs); a warm directory synced from the tar, so unchanged files keep their stat-cache entries.
  const hint = String(req.headers['x-mybuild-context'] ?? '') || `${dockerfile}|${tags.join(',')}`;
  const lent = await state.contextDirs.acquire(hint);
  const dir = lent.dir;
  try {
    const limited = byteLimit(state.maxContextBytes, 'the build context');
    // The context may be compressed (gzip, bzip2, xz, zstd), as dockerd accepts it: detected by its magic bytes.
    const { head, stream: body } = await peek(req, 512);
    const kind = detectCompression(head);
    // Piped, not pipeline()d: a refused context (413) must not destroy the request's socket
    // before the answer is written; the rest of the body is drained instead.
    const fed = new Promise<unknown>((resolve) => {
      const src = kind === 'none' ? body : body.pipe(createDecompressor(kind));
      src.on('error', (e: unknown) => {
        limited.destroy(e as Error);
        resolve(e);
      });
      limited.on('error', (e: unknown) => {
        body.unpipe();
        req.resume();
        resolve(e);
      });
      limited.on('finish', () => resolve(undefined));
      src.pipe(limited);
    });
    // A unix socket client shares the daemon's clock; a TCP one may not (see context-dirs.ts).
    await lent.sync(limited, req.socket.remoteAddress === undefined ? 0 : undefined);
    const feedErr = await fed;
    if (feedErr) throw feedErr;
    const o = defaultBuildOptions(dir);
    o.dockerfilePath = path.join(dir, dockerfile);
    o.dockerfileName = dockerfile;
    o.tags = tags;
    o.buildArgs = buildArgs;
    o.labels = labels;
    o.target = query.get('target') || undefined;
    o.noCache = boolParam(query, 'nocache');
    o.pull = boolParam(query, 'pull');
    o.platform = query.get('platform') || undefined;
    o.network = network;
    if (resources) o.runResources = resources;
    // The SOURCE_DATE_EPOCH build arg is resolved by the builder (src/builder/source-date-epoch.ts).
    const shm = Number(query.get('shmsize') || 0);
    if (shm) o.shmSize = shm;
    const hosts = query.getAll('extrahosts').flatMap((h) => h.split(',')).filter(Boolean);
    if (hosts.length) o.extraHosts = hosts.map(extraHost);
    if (registryAuth) o.registryAuth = registryAuth;
    const result = await state.engine.build(o, { onEvent: legacyProgress(out, quiet), signal: abort.signal });
    out.write({ aux: { ID: result.imageId } });
    if (quiet) out.stream(`${result.imageId}\n`);
    else {
      out.stream(`Successfully built ${result.imageId.slice('sha256:'.length, 'sha256:'.length + 12)}\n`);
      for (const t of tags) out.stream(`Successfully tagged ${t}\n`);
    }
    out.end();
  } catch (err) {
    if (abort.signal.aborted && !out.open) return; // the client is gone
    out.fail(legacyError(err));
    out.end();
  } finally {
    res.off('close', onClose);
    state.builds.delete(abort);
    await lent.release();
  }
}

export const buildRoutes: Route[] = [{ method: 'POST', pattern: /^\/build$/, handle: handleBuild }];

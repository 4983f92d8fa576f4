/**
 * RemoteEngine: the Engine over a daemon's Engine API (DaemonClient, src/client) — `mybuild`
 * with -H/MYBUILD_HOST. Each call maps to the endpoint the docker CLI uses and turns the JSON
 * answer back into what LocalEngine returns.
 */
import type http from 'node:http';
import { summaryOfListEntry } from '../api/containers.js';
import { MuxDecoder } from '../api/mux.js';
import type { ApiContainer, ApiImage } from '../api/types.js';
import type { DaemonClient } from '../client/client.js';
import { parseReference } from '../image/reference.js';
import type { ContainerService, ContainerSummary, Engine, ImageDeleteItem, ImageRow, ImageService, LogOptions } from './engine.js';

const drain = async (p: Promise<http.IncomingMessage>): Promise<void> => {
  (await p).resume();
};

/** The full normalised form of a name the daemon sent (`app:1` → `docker.io/library/app:1`); as sent when it does not parse. */
function fullName(name: string): string {
  try {
    return parseReference(name).toString();
  } catch {
    return name;
  }
}

/** Writes a raw or multiplexed output stream to `stdout` / `stderr`; resolves when it ends. */
export async function copyOutput(src: AsyncIterable<unknown>, multiplexed: boolean, out: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream }): Promise<void> {
  const dec = new MuxDecoder();
  for await (const chunk of src) {
    const b = chunk as Buffer;
    if (!multiplexed) {
      out.stdout.write(b);
      continue;
    }
    for (const f of dec.push(b)) (f.stream === 2 ? out.stderr : out.stdout).write(f.data);
  }
}

export class RemoteEngine implements Engine {
  readonly images: ImageService;
  readonly containers: ContainerService;

  constructor(readonly client: DaemonClient, readonly env: NodeJS.ProcessEnv) {
    this.images = new RemoteImages(client);
    this.containers = new RemoteContainers(client);
  }
}

class RemoteImages implements ImageService {
  constructor(private readonly client: DaemonClient) {}

  async list(): Promise<{ images: ImageRow[]; warnings: string[] }> {
    const list = await this.client.json<ApiImage[]>('GET', '/images/json');
    const rows: ImageRow[] = [];
    for (const img of list) {
      const created = new Date(img.Created * 1000).toISOString();
      const base = { id: img.Id, created, size: img.Size };
      const digestOf = (repo: string): string => img.RepoDigests.find((d) => d.startsWith(`${repo}@`))?.split('@')[1] ?? img.RepoDigests[0]?.split('@')[1] ?? '';
      if (img.RepoTags.length) {
        for (const t of img.RepoTags) rows.push({ ...base, name: fullName(t), digest: digestOf(t.slice(0, t.lastIndexOf(':'))) });
      } else if (img.RepoDigests.length) {
        // Named by digest only (no tag): one row per such name, as the store lists them.
        for (const d of img.RepoDigests) rows.push({ ...base, name: fullName(d), digest: d.split('@')[1] });
      } else rows.push({ ...base, digest: '' });
    }
    return { images: rows, warnings: [] };
  }

  inspect(name: string): Promise<Record<string, unknown>> {
    return this.client.json('GET', `/images/${encodeURIComponent(name)}/json`);
  }

  async tag(source: string, target: string): Promise<void> {
    const colon = target.lastIndexOf(':');
    const [repo, tag] = colon > target.lastIndexOf('/') ? [target.slice(0, colon), target.slice(colon + 1)] : [target, 'latest'];
    await drain(this.client.request('POST', `/images/${encodeURIComponent(source)}/tag`, { query: { repo, tag } }));
  }

  remove(name: string, opts: { force?: boolean }): Promise<ImageDeleteItem[]> {
    return this.client.json<ImageDeleteItem[]>('DELETE', `/images/${encodeURIComponent(name)}`, { query: { force: opts.force ? '1' : undefined } });
  }
}

class RemoteContainers implements ContainerService {
  constructor(private readonly client: DaemonClient) {}

  async list(opts: { all?: boolean }): Promise<ContainerSummary[]> {
    const list = await this.client.json<ApiContainer[]>('GET', '/containers/json', { query: { all: opts.all ? '1' : undefined } });
    return list.map(summaryOfListEntry);
  }

  async logs(ref: string, opts: LogOptions): Promise<void> {
    const res = await this.client.request('GET', `/containers/${encodeURIComponent(ref)}/logs`, {
      query: { stdout: '1', stderr: '1', follow: opts.follow ? '1' : undefined, timestamps: opts.timestamps ? '1' : undefined, tail: opts.tail?.toString() },
    });
    await copyOutput(res, /multiplexed/.test(String(res.headers['content-type'])), opts);
  }

  stop(ref: string, opts: { timeoutSec?: number; signal?: string }): Promise<void> {
    return drain(this.client.request('POST', `/containers/${encodeURIComponent(ref)}/stop`, { query: { t: opts.timeoutSec?.toString(), signal: opts.signal } }));
  }

  kill(ref: string, signal: string): Promise<void> {
    return drain(this.client.request('POST', `/containers/${encodeURIComponent(ref)}/kill`, { query: { signal } }));
  }

  remove(ref: string, opts: { force?: boolean }): Promise<void> {
    return drain(this.client.request('DELETE', `/containers/${encodeURIComponent(ref)}`, { query: { force: opts.force ? '1' : undefined } }));
  }
}

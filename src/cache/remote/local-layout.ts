/**
 * Writing a cache artifact into an OCI layout directory (`--cache-to type=local,dest=DIR`).
 *
 * Blobs are content-addressed and written each to a temp file then renamed, so a blob file is
 * whole or absent. `index.json` is replaced last, atomically (temp file + rename): a reader sees
 * the previous complete export or the new one, never a mix; concurrent writers of the same tag
 * end with the last complete export. Blobs of older exports stay (the directory grows with
 * distinct layers; delete it to start over). Throws BuildError IO.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { access, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { BuildError } from '../../errors.js';
import { MediaTypes, type Descriptor, type Index } from '../../oci/types.js';
import type { ContentStore } from '../../oci/content-store.js';
import { CACHE_ARTIFACT_TYPE } from './format.js';

const REF_NAME = 'org.opencontainers.image.ref.name';

const tmpName = (p: string): string => `${p}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;

async function exists(p: string): Promise<boolean> {
  return access(p).then(
    () => true,
    () => false,
  );
}

async function atomicWrite(file: string, data: Buffer | string): Promise<void> {
  const tmp = tmpName(file);
  try {
    await writeFile(tmp, data);
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/**
 * Writes `blobs` (copied from `store`), then the manifest `manifest` under `tag` into the layout
 * at `dir` (created). Returns the bytes written (blobs that were already there are not counted).
 */
export async function writeCacheLayout(dir: string, tag: string, store: ContentStore, blobs: Descriptor[], manifest: { bytes: Buffer; descriptor: Descriptor }): Promise<number> {
  let written = 0;
  try {
    const blobDir = path.join(dir, 'blobs', 'sha256');
    await mkdir(blobDir, { recursive: true });
    for (const b of blobs) {
      const file = path.join(blobDir, b.digest.slice('sha256:'.length));
      if (await exists(file)) continue;
      const tmp = tmpName(file);
      try {
        await pipeline(await store.reader(b), createWriteStream(tmp));
        await rename(tmp, file);
      } catch (err) {
        await rm(tmp, { force: true });
        throw err;
      }
      written += b.size;
    }
    const mfile = path.join(blobDir, manifest.descriptor.digest.slice('sha256:'.length));
    if (!(await exists(mfile))) {
      await atomicWrite(mfile, manifest.bytes);
      written += manifest.bytes.length;
    }
    const layoutFile = path.join(dir, 'oci-layout');
    if (!(await exists(layoutFile))) await atomicWrite(layoutFile, '{"imageLayoutVersion":"1.0.0"}');
    let others: Descriptor[] = [];
    try {
      const old = JSON.parse(await readFile(path.join(dir, 'index.json'), 'utf8')) as Index;
      if (Array.isArray(old.manifests)) others = old.manifests.filter((d) => d.annotations?.[REF_NAME] !== tag);
    } catch {
      // no index yet, or a broken one: replaced below
    }
    const index: Index = {
      schemaVersion: 2,
      mediaType: MediaTypes.OCI_INDEX,
      manifests: [...others, { ...manifest.descriptor, artifactType: CACHE_ARTIFACT_TYPE, annotations: { [REF_NAME]: tag } } as Descriptor],
    };
    await atomicWrite(path.join(dir, 'index.json'), `${JSON.stringify(index)}\n`);
    return written;
  } catch (err) {
    if (err instanceof BuildError) throw err;
    throw new BuildError('IO', `cache export to ${dir} failed: ${(err as Error).message}`, { cause: err });
  }
}

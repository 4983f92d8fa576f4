/** Builds small (possibly malicious) layer tars in memory for the runtime tests. */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import tar from 'tar-stream';

export interface TarItem {
  name: string;
  type?: 'file' | 'directory' | 'symlink' | 'link' | 'character-device' | 'block-device' | 'fifo';
  content?: string;
  linkname?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: Date;
  devmajor?: number;
  devminor?: number;
  pax?: Record<string, string>;
}

/** The tar bytes of `items`, in order. */
export async function tarBuffer(items: TarItem[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => {
    chunks.push(c as Buffer);
  });
  const done = new Promise<void>((resolve, reject) => {
    pack.on('end', resolve);
    pack.on('error', reject);
  });
  for (const it of items) {
    const type = it.type ?? 'file';
    const header = {
      name: it.name,
      type,
      mode: it.mode ?? (type === 'directory' ? 0o755 : 0o644),
      uid: it.uid ?? 0,
      gid: it.gid ?? 0,
      mtime: it.mtime ?? new Date(1_000_000_000),
      linkname: it.linkname,
      devmajor: it.devmajor,
      devminor: it.devminor,
      pax: it.pax,
    };
    if (type === 'file') pack.entry(header, it.content ?? '');
    else pack.entry(header);
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** A readable of the tar of `items`. */
export async function tarStream(items: TarItem[]): Promise<Readable> {
  return Readable.from([await tarBuffer(items)]);
}

/** The diffId of an uncompressed layer tar (its sha256), which extraction verifies. */
export function diffIdOf(layer: Buffer): string {
  return `sha256:${createHash('sha256').update(layer).digest('hex')}`;
}

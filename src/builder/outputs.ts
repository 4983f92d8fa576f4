/**
 * The exporters of `--output` besides the image store (src/builder/image-export.ts): an OCI
 * layout (directory or tar), a docker archive (both with the output's `name=` and encoding
 * keys), and the target stage's root filesystem as a directory or a tar. `cacheonly` writes
 * nothing.
 */
import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { BuildError } from '../errors.js';
import { exportDockerArchive } from '../image/formats/docker-archive.js';
import { exportOciLayout } from '../image/formats/oci-layout.js';
import { parseReference } from '../image/reference.js';
import type { Descriptor } from '../oci/types.js';
import type { BuildRequest, BuildSession } from './session.js';
import type { StageState } from './state.js';
import { attest, encodeImage } from './image-export.js';
import { distributable, LayerVariants } from '../store/layer-variants.js';

/**
 * Writes every `--output` of `req` but `image` (the store, done by the caller): `manifest` under
 * `names` (the -t names; `latest` when none, for OCI), or the layers of `stage` as files.
 */
export async function exportOutputs(session: BuildSession, req: BuildRequest, manifest: Descriptor, stage: StageState, names: string[]): Promise<void> {
  for (const out of req.outputs) {
    switch (out.type) {
      case 'image':
      case 'cacheonly':
        break;
      case 'oci': {
        // Build layers are stored uncompressed: the archive gets their compressed variants.
        const variants = new LayerVariants(session.store.root);
        const choice = { compression: out.compression ?? req.compression, ...(out.compressionLevel !== undefined ? { level: out.compressionLevel } : {}) };
        const own = out.names?.map((n) => parseReference(n).toString()) ?? names;
        const desc = await distributable(variants, session.content, await attest(session, await encodeImage(session, manifest, stage, out), 'oci', own, out), choice);
        await exportOciLayout(session.store.content, own.length ? own.map((name) => ({ name, descriptor: desc })) : [{ name: 'latest', descriptor: desc }], out.dest, { tar: out.tar });
        break;
      }
      case 'docker': {
        const desc = await encodeImage(session, manifest, stage, out);
        const own = out.names?.map((n) => parseReference(n).toString()) ?? names;
        await exportDockerArchive(session.store.content, [{ names: own.map((n) => parseReference(n).familiar()), descriptor: desc }], out.dest);
        break;
      }
      case 'local':
      case 'tar': {
        const rootfs = await session.worker.layers();
        await rootfs.withView(stage.layers, async (dir) => {
          if (out.type === 'local') {
            await mkdir(out.dest, { recursive: true });
            await runTool('cp', ['-a', '--', `${dir}/.`, out.dest]);
          } else {
            await writeTar(dir, out.dest);
          }
        });
        break;
      }
    }
  }
}

/** Writes the tree `dir` as the tar file `dest` (names sorted, numeric owners). */
export function writeTar(dir: string, dest: string): Promise<void> {
  return runTool('tar', ['--sort=name', '--numeric-owner', '-C', dir, '-cf', dest, '.']);
}

function runTool(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new BuildError('IO', `${cmd} failed: ${err.trim()}`))));
  });
}

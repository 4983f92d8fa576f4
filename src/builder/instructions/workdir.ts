import path from 'node:path';
import { withContainerConfig } from '../../image/config.js';
import { writeLayer, BUILD_LAYER_COMPRESSION } from '../../image/layer-writer.js';
import type { WorkdirCommand } from '../../plan/index.js';
import { fileOwner } from '../../runtime/user.js';
import { isDirIn, parentEntries } from '../fs-entries.js';
import { workdir } from '../state.js';
import type { Handler } from './handler.js';

/**
 * WORKDIR: sets WorkingDir (relative paths join the current one) and, as BuildKit does, creates
 * the directory when it is missing, owned by the current USER: a layer with the new directories
 * (and their existing parents). For any path but `/` there is a layer, an empty one when the
 * directory exists (BuildKit's `mkdir -p` diff); `WORKDIR /` has none. Without a USER the owner
 * is 0:0 and no /etc/passwd is read (BuildKit chowns only for a USER), so `FROM scratch` works;
 * with one, the owner follows BuildKit's file-op rules (fileOwner: `USER 1234` gives 1234:1234,
 * a name passwd lacks gives 0:0, never an error).
 */
export const workdirHandler: Handler<WorkdirCommand> = {
  async apply({ stage, cmd, worker, options }) {
    const p = cmd.path;
    const abs = path.posix.resolve(workdir(stage), p);
    stage.config = withContainerConfig(stage.config, { WorkingDir: abs });
    const configUser = stage.config.config?.User || '';
    const user = configUser || 'root';
    const layers = stage.layers;
    return {
      // `chown=fileop`: the owner rules of a USER changed to BuildKit's (older records differ).
      parts: [`cmd=WORKDIR ${abs}`, `user=${user}`, ...(configUser ? ['chown=fileop'] : [])],
      createdBy: `WORKDIR ${abs}`,
      produce: async () => {
        if (abs === '/') return null;
        const rootfs = await worker.layers();
        return rootfs.withView(layers, async (base) => {
          // BuildKit runs `mkdir -p` for every WORKDIR but `/` and commits its diff: a directory
          // that exists already gives an empty layer (docker 20.10's BuildKit keeps it).
          if (await isDirIn(base, abs)) return writeLayer([], worker.content, { compression: BUILD_LAYER_COMPRESSION, sourceDateEpoch: options.sourceDateEpoch });
          const owner = configUser ? await fileOwner(base, configUser) : { uid: 0, gid: 0 };
          const dir = { path: abs.slice(1), type: 'directory' as const, mode: 0o755, uid: owner.uid, gid: owner.gid, size: 0, mtimeMs: Date.now() };
          const parents = await parentEntries([dir], base, owner, dir.mtimeMs);
          return writeLayer([...parents, dir], worker.content, { compression: BUILD_LAYER_COMPRESSION, sourceDateEpoch: options.sourceDateEpoch });
        });
      },
    };
  },
};

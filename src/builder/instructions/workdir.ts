import path from 'node:path';
import { PlanError, type SourceLocation } from '../../errors.js';
import { withContainerConfig } from '../../image/config.js';
import { writeLayer } from '../../image/layer-writer.js';
import type { WorkdirCommand } from '../../plan/index.js';
import { resolveUser } from '../../runtime/user.js';
import { isDirIn, parentEntries } from '../fs-entries.js';
import { workdir } from '../state.js';
import type { Handler } from './handler.js';

async function ownerOf(rootfs: string, user: string, source: SourceLocation): Promise<{ uid: number; gid: number }> {
  try {
    const u = await resolveUser(rootfs, user);
    return { uid: u.uid, gid: u.gid };
  } catch (err) {
    throw new PlanError(`WORKDIR: cannot resolve USER ${user}: ${(err as Error).message}`, { source });
  }
}

/**
 * WORKDIR: sets WorkingDir (relative paths join the current one) and, as BuildKit does, creates
 * the directory when it is missing, owned by the current USER: a layer with the new directories
 * (and their existing parents). For any path but `/` there is a layer, an empty one when the
 * directory exists (BuildKit's `mkdir -p` diff); `WORKDIR /` has none. Without a USER the owner
 * is 0:0 and no /etc/passwd is read (BuildKit chowns only for a USER), so `FROM scratch` works.
 */
export const workdirHandler: Handler<WorkdirCommand> = {
  async apply({ session, stage, cmd, worker, options }) {
    const p = cmd.path;
    const abs = path.posix.resolve(workdir(stage), p);
    stage.config = withContainerConfig(stage.config, { WorkingDir: abs });
    const configUser = stage.config.config?.User || '';
    const user = configUser || 'root';
    const layers = stage.layers;
    return {
      parts: [`cmd=WORKDIR ${abs}`, `user=${user}`],
      createdBy: `WORKDIR ${abs}`,
      produce: async () => {
        if (abs === '/') return null;
        const rootfs = await worker.layers();
        return rootfs.withView(layers, async (base) => {
          // BuildKit runs `mkdir -p` for every WORKDIR but `/` and commits its diff: a directory
          // that exists already gives an empty layer (docker 20.10's BuildKit keeps it).
          if (await isDirIn(base, abs)) return writeLayer([], worker.content, { compression: options.compression, sourceDateEpoch: options.sourceDateEpoch });
          const owner = configUser ? await ownerOf(base, configUser, session.source(cmd.node.range)) : { uid: 0, gid: 0 };
          const dir = { path: abs.slice(1), type: 'directory' as const, mode: 0o755, uid: owner.uid, gid: owner.gid, size: 0, mtimeMs: Date.now() };
          const parents = await parentEntries([dir], base, owner, dir.mtimeMs);
          return writeLayer([...parents, dir], worker.content, { compression: options.compression, sourceDateEpoch: options.sourceDateEpoch });
        });
      },
    };
  },
};

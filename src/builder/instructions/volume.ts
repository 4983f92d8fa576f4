import type { VolumeCommand } from '../../plan/index.js';
import type { Handler } from './handler.js';
import { commitMetadata } from './metadata.js';

/** VOLUME: add mount points to Volumes. */
export const volumeHandler: Handler<VolumeCommand> = {
  async apply({ b, st, cmd }) {
    const { volumes } = st.env.expand(cmd).cmd;
    const merged: Record<string, Record<string, never>> = { ...(st.config.config?.Volumes ?? {}) };
    for (const v of volumes) merged[v] = {};
    commitMetadata(b, st, { Volumes: merged }, `VOLUME [${volumes.join(' ')}]`);
  },
};

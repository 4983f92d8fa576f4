import type { VolumeCommand } from '../../plan/index.js';
import type { Handler } from './handler.js';
import { commitMetadata } from './metadata.js';

/** VOLUME: add mount points to Volumes. */
export const volumeHandler: Handler<VolumeCommand> = {
  async apply({ session, stage, cmd }) {
    const { volumes } = cmd;
    const merged: Record<string, Record<string, never>> = { ...(stage.config.config?.Volumes ?? {}) };
    for (const v of volumes) merged[v] = {};
    commitMetadata(session, stage, { Volumes: merged }, `VOLUME [${volumes.join(' ')}]`);
  },
};

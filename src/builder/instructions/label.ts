import type { LabelCommand } from '../../plan/index.js';
import type { Handler } from './handler.js';
import { commitMetadata } from './metadata.js';

/** LABEL: expanded pairs merged into Labels. */
export const labelHandler: Handler<LabelCommand> = {
  async apply({ session, stage, cmd }) {
    const { labels } = cmd;
    const merged = { ...(stage.config.config?.Labels ?? {}) };
    for (const l of labels) merged[l.key] = l.value;
    commitMetadata(session, stage, { Labels: merged }, `LABEL ${labels.map((l) => `${l.key}=${l.value}`).join(' ')}`);
  },
};

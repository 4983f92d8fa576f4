import type { LabelCommand } from '../../plan/index.js';
import type { Handler } from './handler.js';
import { commitMetadata } from './metadata.js';

/** LABEL: expanded pairs merged into Labels. */
export const labelHandler: Handler<LabelCommand> = {
  async apply({ b, st, cmd }) {
    const { labels } = st.env.expand(cmd).cmd;
    const merged = { ...(st.config.config?.Labels ?? {}) };
    for (const l of labels) merged[l.key] = l.value;
    commitMetadata(b, st, { Labels: merged }, `LABEL ${labels.map((l) => `${l.key}=${l.value}`).join(' ')}`);
  },
};

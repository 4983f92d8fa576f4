import type { StopsignalCommand } from '../../plan/index.js';
import type { Handler } from './handler.js';
import { commitMetadata } from './metadata.js';

export const stopsignalHandler: Handler<StopsignalCommand> = {
  async apply({ b, st, cmd }) {
    const { signal } = st.env.expand(cmd).cmd;
    commitMetadata(b, st, { StopSignal: signal }, `STOPSIGNAL ${signal}`);
  },
};

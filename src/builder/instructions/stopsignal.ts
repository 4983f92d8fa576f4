import type { StopsignalCommand } from '../../plan/index.js';
import type { Handler } from './handler.js';
import { commitMetadata } from './metadata.js';

export const stopsignalHandler: Handler<StopsignalCommand> = {
  async apply({ session, stage, cmd }) {
    const { signal } = cmd;
    commitMetadata(session, stage, { StopSignal: signal }, `STOPSIGNAL ${signal}`);
  },
};

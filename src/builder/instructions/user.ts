import type { UserCommand } from '../../plan/index.js';
import type { Handler } from './handler.js';
import { commitMetadata } from './metadata.js';

/** USER: set as written (resolved through /etc/passwd only when a step runs as it). */
export const userHandler: Handler<UserCommand> = {
  async apply({ session, stage, cmd }) {
    const { user } = cmd;
    commitMetadata(session, stage, { User: user }, `USER ${user}`);
  },
};

import type { UserCommand } from '../../plan/index.js';
import type { Handler } from './handler.js';
import { commitMetadata } from './metadata.js';

/** USER: set as written (resolved through /etc/passwd only when a step runs as it). */
export const userHandler: Handler<UserCommand> = {
  async apply({ b, st, cmd }) {
    const { user } = st.env.expand(cmd).cmd;
    commitMetadata(b, st, { User: user }, `USER ${user}`);
  },
};

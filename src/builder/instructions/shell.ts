import type { ShellCommand } from '../../plan/index.js';
import type { Handler } from './handler.js';
import { commitMetadata } from './metadata.js';

export const shellHandler: Handler<ShellCommand> = {
  async apply({ session, stage, cmd }) {
    commitMetadata(session, stage, { Shell: [...cmd.shell] }, `SHELL [${cmd.shell.join(' ')}]`);
  },
};

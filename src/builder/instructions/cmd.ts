import type { CmdCommand } from '../../plan/index.js';
import { shell } from '../state.js';
import { goQuoteList, type Handler } from './handler.js';
import { commitMetadata } from './metadata.js';

/** CMD: shell form is wrapped in the SHELL; marks CMD as set in this stage (see ENTRYPOINT). */
export const cmdHandler: Handler<CmdCommand> = {
  async apply({ session, stage, cmd }) {
    const args = cmd.prependShell ? [...shell(stage), ...cmd.args] : [...cmd.args];
    stage.cmdSet = true;
    commitMetadata(session, stage, { Cmd: args }, `CMD ${goQuoteList(args)}`);
  },
};

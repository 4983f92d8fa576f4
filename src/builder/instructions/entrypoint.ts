import type { EntrypointCommand } from '../../plan/index.js';
import { shell } from '../state.js';
import { goQuoteList, type Handler } from './handler.js';
import { commitMetadata } from './metadata.js';

/**
 * ENTRYPOINT: shell form is wrapped in the SHELL. As Docker does, a CMD inherited from the base
 * image is dropped unless this stage set CMD before.
 */
export const entrypointHandler: Handler<EntrypointCommand> = {
  async apply({ b, st, cmd }) {
    const args = cmd.prependShell ? [...shell(st), ...cmd.args] : [...cmd.args];
    commitMetadata(b, st, { Entrypoint: args, ...(st.cmdSet ? {} : { Cmd: undefined }) }, `ENTRYPOINT ${goQuoteList(args)}`);
  },
};

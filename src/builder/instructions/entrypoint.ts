import type { EntrypointCommand } from '../../plan/index.js';
import { shell } from '../state.js';
import { goQuoteList, type Handler } from './handler.js';
import { commitMetadata } from './metadata.js';

/**
 * ENTRYPOINT: shell form is wrapped in the SHELL. As Docker does, a CMD inherited from the base
 * image is dropped unless this stage set CMD before.
 */
export const entrypointHandler: Handler<EntrypointCommand> = {
  async apply({ session, stage, cmd }) {
    const args = cmd.prependShell ? [...shell(stage), ...cmd.args] : [...cmd.args];
    commitMetadata(session, stage, { Entrypoint: args, ...(stage.cmdSet ? {} : { Cmd: undefined }) }, `ENTRYPOINT ${goQuoteList(args)}`);
  },
};

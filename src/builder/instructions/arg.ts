import type { ArgCommand } from '../../plan/index.js';
import type { Handler } from './handler.js';
import { addHistory } from './metadata.js';

/** ARG: brings a build arg (or its default) into the stage's scope; no config change. */
export const argHandler: Handler<ArgCommand> = {
  async apply({ session, stage, cmd }) {
    const resolved = stage.env.applyArg(cmd);
    addHistory(session, stage, `ARG ${resolved.map((a) => (a.value === undefined ? a.name : `${a.name}=${a.value}`)).join(' ')}`);
  },
};

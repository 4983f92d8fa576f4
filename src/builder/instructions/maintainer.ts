import { normalizeConfig } from '../../image/config.js';
import type { MaintainerCommand } from '../../plan/index.js';
import type { Handler } from './handler.js';
import { addHistory } from './metadata.js';

/** MAINTAINER (deprecated): sets the image's `author`. */
export const maintainerHandler: Handler<MaintainerCommand> = {
  async apply({ session, stage, cmd }) {
    stage.config = normalizeConfig({ ...stage.config, author: cmd.maintainer });
    addHistory(session, stage, `MAINTAINER ${cmd.maintainer}`);
  },
};

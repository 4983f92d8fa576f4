import { normalizeConfig } from '../../image/config.js';
import type { MaintainerCommand } from '../../plan/index.js';
import type { Handler } from './handler.js';
import { addHistory } from './metadata.js';

/** MAINTAINER (deprecated): sets the image's `author`. */
export const maintainerHandler: Handler<MaintainerCommand> = {
  async apply({ b, st, cmd }) {
    st.config = normalizeConfig({ ...st.config, author: cmd.maintainer });
    addHistory(b, st, `MAINTAINER ${cmd.maintainer}`);
  },
};

import type { OnbuildCommand } from '../../plan/index.js';
import type { Handler } from './handler.js';
import { commitMetadata } from './metadata.js';

/** ONBUILD: stored in the config; run when a later build uses this image as its base. */
export const onbuildHandler: Handler<OnbuildCommand> = {
  async apply({ session, stage, cmd }) {
    const list = [...(stage.config.config?.OnBuild ?? []), cmd.expression];
    commitMetadata(session, stage, { OnBuild: list }, `ONBUILD ${cmd.expression}`);
  },
};

import type { EnvCommand } from '../../plan/index.js';
import type { Handler } from './handler.js';
import { commitMetadata } from './metadata.js';

/** ENV: sets each (already expanded) pair; existing keys keep their place. */
export const envHandler: Handler<EnvCommand> = {
  async apply({ session, stage, cmd }) {
    stage.env.setEnv(cmd);
    const env = [...stage.env.env].map(([k, v]) => `${k}=${v}`);
    commitMetadata(session, stage, { Env: env }, `ENV ${cmd.env.map((p) => `${p.key}=${p.value}`).join(' ')}`);
  },
};

import type { EnvCommand } from '../../plan/index.js';
import type { Handler } from './handler.js';
import { commitMetadata } from './metadata.js';

/** ENV: expand with the stage's variables, then set each pair (existing keys keep their place). */
export const envHandler: Handler<EnvCommand> = {
  async apply({ b, st, cmd }) {
    const expanded = st.env.applyEnv(cmd);
    const env = [...st.env.env].map(([k, v]) => `${k}=${v}`);
    commitMetadata(b, st, { Env: env }, `ENV ${expanded.env.map((p) => `${p.key}=${p.value}`).join(' ')}`);
  },
};

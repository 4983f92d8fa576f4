import type { CommandMain } from '../context.js';
import { UsageError } from '../../errors.js';

// Placeholder until the parser lands (issue 2): replaced by the real command.
export const main: CommandMain = async () => {
  throw new UsageError('parse: not implemented yet');
};

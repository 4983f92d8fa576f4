/** `mybuild logout [REGISTRY]`: removes the saved credentials (Docker Hub by default). */
import { UsageError } from '../../errors.js';
import { DOCKER_HUB_DOMAIN } from '../../oci/reference.js';
import { normalizeRegistry } from '../../image/reference.js';
import { configKey, eraseCredentials } from '../../registry/auth.js';
import type { CommandMain } from '../context.js';
import { parseCommandArgs } from '../args.js';
import { HELP_FLAG, printHelp, type CommandHelp, type Flags } from '../help.js';

export const FLAGS = { help: HELP_FLAG } as const satisfies Flags;

export const HELP: CommandHelp = { name: 'mybuild logout', usage: '[SERVER]', summary: 'Log out from a registry (Docker Hub by default)', flags: FLAGS };

export const main: CommandMain = async (argv, ctx) => {
  const { values, positionals: args } = parseCommandArgs('logout', { args: argv, options: FLAGS, allowPositionals: true });
  if (values.help) return printHelp(ctx, HELP);
  if (args.length > 1) throw new UsageError(`"mybuild logout" takes at most 1 argument (the registry), got ${args.length}`);
  const domain = args.length ? normalizeRegistry(args[0]) : DOCKER_HUB_DOMAIN;
  const removed = await eraseCredentials(domain, ctx.env);
  ctx.stdout.write(removed ? `Removing login credentials for ${configKey(domain)}\n` : `Not logged in to ${configKey(domain)}\n`);
  return 0;
};

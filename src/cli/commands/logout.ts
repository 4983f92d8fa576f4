/** `mybuild logout [REGISTRY]`: removes the saved credentials (Docker Hub by default). */
import { UsageError } from '../../errors.js';
import { DOCKER_HUB_DOMAIN, normalizeRegistry } from '../../image/reference.js';
import { configKey, eraseCredentials } from '../../registry/auth.js';
import type { CommandMain } from '../context.js';
import { unknownFlag } from '../args.js';

export const main: CommandMain = async (args, ctx) => {
  if (args.includes('-h') || args.includes('--help')) {
    ctx.stdout.write('Usage: mybuild logout [REGISTRY]\n\nLog out from a registry (Docker Hub by default)\n');
    return 0;
  }
  const unknown = args.find((a) => a.startsWith('-'));
  if (unknown) throw unknownFlag('logout', unknown, ['--help', '-h']);
  if (args.length > 1) throw new UsageError(`"mybuild logout" takes at most 1 argument (the registry), got ${args.length}`);
  const domain = args.length ? normalizeRegistry(args[0]) : DOCKER_HUB_DOMAIN;
  const removed = await eraseCredentials(domain, ctx.env);
  ctx.stdout.write(removed ? `Removing login credentials for ${configKey(domain)}\n` : `Not logged in to ${configKey(domain)}\n`);
  return 0;
};

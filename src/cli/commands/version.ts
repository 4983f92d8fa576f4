/**
 * `mybuild version`: the client's version and, with -H/MYBUILD_HOST, the daemon's.
 */
import { packageVersion } from '../../api/version.js';
import type { CommandMain } from '../context.js';

export { packageVersion };

export const main: CommandMain = async (_args, ctx) => {
  ctx.stdout.write(`Client:\n Version:    ${packageVersion()}\n Node:       ${process.version}\n OS/Arch:    ${process.platform}/${process.arch}\n`);
  // With -H/MYBUILD_HOST, the daemon's side too.
  if (ctx.host) ctx.stdout.write(`\n${await (await import('../../client/commands.js')).remoteVersion(ctx)}`);
  return 0;
};

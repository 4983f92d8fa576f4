/**
 * `mybuild version`: the client's version and, with -H/MYBUILD_HOST, the daemon's.
 */
import { packageVersion } from '../../api/version.js';
import type { CommandMain } from '../context.js';
import { parseCommandArgs } from '../args.js';
import { engineFor } from '../engine.js';

export const main: CommandMain = async (args, ctx) => {
  if (parseCommandArgs('version', { args, options: { help: { type: 'boolean', short: 'h' } }, allowPositionals: false }).values.help) return (ctx.stdout.write('Usage: mybuild version\n\nShow version information\n'), 0);
  ctx.stdout.write(`Client:\n Version:    ${packageVersion()}\n Node:       ${process.version}\n OS/Arch:    ${process.platform}/${process.arch}\n`);
  // With -H/MYBUILD_HOST, the daemon's side too.
  const v = ctx.host ? await engineFor(ctx).serverVersion() : undefined;
  if (v) ctx.stdout.write(`\nServer:\n Version:    ${v.Version}\n API version: ${v.ApiVersion}\n Runtime:    ${v.GoVersion}\n OS/Arch:    ${v.Os}/${v.Arch}\n Address:    ${ctx.host}\n`);
  return 0;
};

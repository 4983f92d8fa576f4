/**
 * `mybuild version`: the client's version and, with -H/MYBUILD_HOST, the daemon's.
 */
import { API_VERSION, MIN_API_VERSION, packageVersion } from '../../api/version.js';
import { formatDocument } from '../format/formatter.js';
import type { CommandMain } from '../context.js';
import { parseCommandArgs } from '../args.js';
import { HELP_FLAG, printHelp, type CommandHelp, type Flags } from '../help.js';
import { engineFor } from '../engine.js';

export const FLAGS = {
  format: { type: 'string', short: 'f', description: "Format output using a custom template: 'json', or a Go template" },
  help: HELP_FLAG,
} as const satisfies Flags;

export const HELP: CommandHelp = { name: 'mybuild version', usage: '[OPTIONS]', summary: 'Show the mybuild version information', flags: FLAGS };

export const main: CommandMain = async (args, ctx) => {
  const { values } = parseCommandArgs('version', { args, options: FLAGS, allowPositionals: false });
  if (values.help) return printHelp(ctx, HELP);
  if (values.format) {
    const v = ctx.host ? await engineFor(ctx).serverVersion() : undefined;
    const doc = {
      Client: { Platform: { Name: 'mybuild' }, Version: packageVersion(), APIVersion: API_VERSION, DefaultAPIVersion: API_VERSION, GoVersion: process.version, Os: process.platform, Arch: process.arch, Context: ctx.host ?? 'daemonless' },
      // docker's ServerVersion (the daemon's GET /version with APIVersion spelled so); nil daemonless
      Server: v ? { ...v, Platform: (v as { Platform?: unknown }).Platform ?? { Name: 'mybuild' }, APIVersion: v.ApiVersion, MinAPIVersion: (v as { MinAPIVersion?: string }).MinAPIVersion ?? MIN_API_VERSION } : null,
    };
    ctx.stdout.write(formatDocument(values.format, doc));
    return 0;
  }
  ctx.stdout.write(`Client:\n Version:    ${packageVersion()}\n Node:       ${process.version}\n OS/Arch:    ${process.platform}/${process.arch}\n`);
  // With -H/MYBUILD_HOST, the daemon's side too.
  const v = ctx.host ? await engineFor(ctx).serverVersion() : undefined;
  if (v) ctx.stdout.write(`\nServer:\n Version:    ${v.Version}\n API version: ${v.ApiVersion}\n Runtime:    ${v.GoVersion}\n OS/Arch:    ${v.Os}/${v.Arch}\n Address:    ${ctx.host}\n`);
  return 0;
};

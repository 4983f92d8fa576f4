import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import type { CommandMain } from '../context.js';
import { parseCommandArgs } from '../args.js';

/** The package version, read from package.json next to the compiled tree. */
export function packageVersion(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      return JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')).version as string;
    } catch {
      const up = path.dirname(dir);
      if (up === dir) return 'unknown';
      dir = up;
    }
  }
}

export const main: CommandMain = async (args, ctx) => {
  if (parseCommandArgs('version', { args, options: { help: { type: 'boolean', short: 'h' } }, allowPositionals: false }).values.help) return (ctx.stdout.write('Usage: mybuild version\n\nShow version information\n'), 0);
  ctx.stdout.write(`Client:\n Version:    ${packageVersion()}\n Node:       ${process.version}\n OS/Arch:    ${process.platform}/${process.arch}\n`);
  // With -H/MYBUILD_HOST, the daemon's side too.
  if (ctx.host) ctx.stdout.write(`\n${await (await import('../../client/commands.js')).remoteVersion(ctx)}`);
  return 0;
};

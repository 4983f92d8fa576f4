/**
 * The executable entry point: runs the CLI on the process's arguments. `cli.ts` only exports
 * `run` (tests import it); this file is what the bundle starts (`scripts/bundle-cli.mjs`) and
 * what `node --import tsx src/main.ts` runs from source.
 */
import { BROKEN_PIPE_EXIT, run } from './cli.js';
import { runRootless, wantsRootless } from './cli/rootless.js';

// A reader that went away (`mybuild images | head -1`) ends the command quietly, as SIGPIPE ends
// docker and coreutils (status 141 in a shell), not with Node's unhandled 'error' event.
for (const out of [process.stdout, process.stderr]) {
  out.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    process.exit(BROKEN_PIPE_EXIT);
  });
}

const argv = process.argv.slice(2);
// Without root, store commands run in a user namespace where mybuild is uid 0 (src/cli/rootless.ts).
void ((wantsRootless(argv, process.env) ? runRootless(argv, process.env) : undefined) ?? run(argv)).then((code) => {
  process.exitCode = code;
});

/**
 * The executable entry point: runs the CLI on the process's arguments. `cli.ts` only exports
 * `run` (tests import it); this file is what the bundle starts (`scripts/bundle-cli.mjs`) and
 * what `node --import tsx src/main.ts` runs from source.
 */
import { run } from './cli.js';

void run(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});

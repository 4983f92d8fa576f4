/**
 * Runs a build for the CLI: picks the progress printer, wires Ctrl-C to cancellation, prints
 * warnings and the result, writes --iidfile / --metadata-file.
 */
import { writeFile } from 'node:fs/promises';
import type { CliContext } from './context.js';
import type { BuildOptions } from '../builder/options.js';
import type { EventSink } from '../builder/events.js';
import { jsonPrinter, plainPrinter } from './progress.js';
import { build } from '../builder/build.js';

export async function runBuildCommand(options: BuildOptions, progress: 'auto' | 'tty' | 'plain' | 'json' | 'quiet', ctx: CliContext): Promise<number> {
  const sink: EventSink =
    progress === 'json' ? jsonPrinter(ctx.stdout) :
    progress === 'quiet' ? () => {} :
    plainPrinter(ctx.stderr);
  const abort = new AbortController();
  const onSignal = () => abort.abort(new Error('interrupted'));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const result = await build({ ...options, root: ctx.root }, { onEvent: sink, signal: abort.signal });
    if (options.iidfile) await writeFile(options.iidfile, result.imageId);
    if (options.metadataFile) await writeFile(options.metadataFile, `${JSON.stringify(result.metadata, null, 2)}\n`);
    if (progress === 'quiet') ctx.stdout.write(`${result.imageId}\n`);
    return 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

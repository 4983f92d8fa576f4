/**
 * `mybuild build --check` / `--call=check|outline|targets|subrequests.describe[,format=json][,ignorestatus=true]`:
 * evaluates the Dockerfile instead of building it (src/checks/outline.ts `evaluateCall`), as
 * `docker buildx build --call=…` does, prints the report and exits with its code (check: 1 when
 * a warning fired or an error was found, unless ignorestatus).
 *
 * The checks see what a build would: the build args, `--target`, `--platform`, the context's
 * ignore patterns (CopyIgnoredFile) and the base images already in the store (a check never
 * pulls; with no store, base images are unknown).
 */
import { existsSync } from 'node:fs';
import type { BuildOptions } from '../builder/options.js';
import { evaluateCall, type CallSpec } from '../checks/outline.js';
import type { ImageFacts } from '../checks/checks.js';
import { BuildContext } from '../context/context.js';
import { hostPlatform } from '../oci/platform.js';
import { parsePlatform } from '../registry/platform.js';
import type { Platform } from '../oci/types.js';
import { ImageStore } from '../store/image-store.js';
import type { CliContext } from './context.js';
import { storeLayout } from '../store/layout.js';

/** Runs `call` (not `build`) on the Dockerfile `text` of `options`; returns the exit code. */
export async function runCallCommand(call: CallSpec, options: BuildOptions, text: string, ctx: CliContext): Promise<number> {
  const platform: Platform = options.platform !== undefined ? parsePlatform(options.platform) : hostPlatform();
  const context = await BuildContext.open(options.contextDir, { dockerfilePath: options.dockerfilePath });
  // Daemonless, the store is the one the build would use; through a daemon (-H) it is not here.
  const hasStore = !ctx.host && existsSync(storeLayout(ctx.root).indexJson);
  let store: Promise<ImageStore> | undefined;
  const resolveImage = async (ref: string, p: Platform): Promise<ImageFacts | undefined> => {
    if (!hasStore) return undefined;
    store ??= ImageStore.open(ctx.root);
    return (await store).resolve(ref, p).then((i) => i.config, () => undefined);
  };
  const result = await evaluateCall(call, text, {
    file: options.dockerfileName,
    buildArgs: options.buildArgs,
    ...(options.target !== undefined ? { target: options.target } : {}),
    platform,
    ignorePatterns: context.excludes,
    resolveImage,
  });
  ctx.stdout.write(result.stdout);
  ctx.stderr.write(result.stderr);
  return result.exitCode;
}

import { PlanError } from '../../errors.js';
import { COPY_GIT_ERROR, COPY_URL_ERROR, isGitSource, isUrlSource, type CopyCommand } from '../../plan/index.js';
import { copyStep } from '../copy-files.js';
import type { Handler } from './handler.js';

/** COPY: files from the context, an earlier stage or an image (`--from`), or heredocs. */
export const copyHandler: Handler<CopyCommand> = {
  async apply(ctx) {
    const { cmd } = ctx;
    // The plan refuses literal URLs; this catches one that came from a variable.
    if (cmd.paths.some(isUrlSource)) throw new PlanError(COPY_URL_ERROR, { source: ctx.session.source(cmd.node.range), hint: 'ADD downloads URLs; COPY takes files from the context or --from' });
    if (cmd.paths.some(isGitSource)) throw new PlanError(COPY_GIT_ERROR, { source: ctx.session.source(cmd.node.range) });
    // The history's flags are BuildKit's (convert_copy.go): --parents, --chown, --chmod; never
    // --from, --link or --exclude.
    const flags = [
      ...(cmd.parents ? ['--parents'] : []),
      ...(cmd.chown !== undefined ? [`--chown=${cmd.chown}`] : []),
      ...(cmd.chmod !== undefined ? [`--chmod=${cmd.chmod}`] : []),
    ];
    return copyStep(ctx, {
      kind: 'COPY',
      paths: cmd.paths,
      contents: cmd.contents,
      dest: cmd.dest,
      from: cmd.from,
      source: cmd.source,
      chown: cmd.chown,
      chmod: cmd.chmod,
      parents: cmd.parents,
      link: cmd.link,
      exclude: cmd.exclude,
      words: [...flags, ...cmd.paths, ...cmd.contents.map((c) => `<<${c.name}`), cmd.dest],
      range: cmd.node.range,
      chmodRange: cmd.node.flags.find((f) => f.name === 'chmod')?.range,
    });
  },
};

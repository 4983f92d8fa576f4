import type { CopyCommand } from '../../plan/index.js';
import { copyStep } from '../copy-files.js';
import type { Handler } from './handler.js';

/** COPY: files from the context, an earlier stage or an image (`--from`), or heredocs. */
export const copyHandler: Handler<CopyCommand> = {
  async apply(ctx) {
    const { cmd } = ctx;
    const flags = [
      ...(cmd.from !== undefined ? [`--from=${cmd.from}`] : []),
      ...(cmd.chown !== undefined ? [`--chown=${cmd.chown}`] : []),
      ...(cmd.chmod !== undefined ? [`--chmod=${cmd.chmod}`] : []),
      ...(cmd.link ? ['--link'] : []),
      ...(cmd.parents ? ['--parents'] : []),
      ...cmd.exclude.map((e) => `--exclude=${e}`),
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
    });
  },
};

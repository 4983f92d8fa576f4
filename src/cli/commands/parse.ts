/**
 * `mybuild parse [-f FILE] [--dump | --json]`: parses a Dockerfile and prints BuildKit's dump
 * (default, or `--dump`) or the AST with ranges as JSON (`--json`). `-f -` reads stdin; the
 * default file is ./Dockerfile in the working directory, read as a build reads it (a symlink
 * out of the directory is refused). Without `--dump`, an unknown
 * instruction is an error (as the planner would report it). Parse errors are thrown (exit 3).
 */
import path from 'node:path';
import { parseCommandArgs } from '../args.js';
import { readBuildFileAt } from '../../context/build-files.js';
import type { CommandMain } from '../context.js';
import { NotFoundError, UsageError } from '../../errors.js';
import { dump, parseDockerfile, toJSON, unknownInstructionError } from '../../parser/index.js';
import type { Instruction, UnknownNode } from '../../parser/ast.js';
import { HELP_FLAG, printHelp, type CommandHelp, type Flags } from '../help.js';

async function readStream(s: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

function firstUnknown(list: Instruction[]): UnknownNode | undefined {
  for (const n of list) {
    if (n.kind === 'UNKNOWN') return n;
    if (n.kind === 'ONBUILD' && n.trigger) {
      const u = firstUnknown([n.trigger]);
      if (u) return u;
    }
  }
  return undefined;
}

export const FLAGS = {
  dump: { type: 'boolean', description: "Print BuildKit's parser dump (the format of its parser tests)" },
  file: { type: 'string', short: 'f', description: 'Name of the Dockerfile, or - for stdin (default "Dockerfile")' },
  json: { type: 'boolean', description: 'Print the AST as JSON' },
  help: HELP_FLAG,
} as const satisfies Flags;

export const HELP: CommandHelp = {
  name: 'mybuild parse',
  usage: '[OPTIONS]',
  summary: 'Parse a Dockerfile and print its AST or BuildKit dump',
  flags: FLAGS,
};

export const main: CommandMain = async (args, ctx) => {
  const { values } = parseCommandArgs('parse', {
    args,
    options: FLAGS,
    allowPositionals: false,
    strict: true,
  });
  if (values.help) return printHelp(ctx, HELP);
  if (values.dump && values.json) throw new UsageError('parse: --dump and --json cannot be used together');
  const arg = values.file ?? 'Dockerfile';
  let text: string;
  let file: string;
  if (arg === '-') {
    text = await readStream(ctx.stdin);
    file = 'Dockerfile';
  } else {
    const p = path.resolve(ctx.cwd, arg);
    file = arg;
    // As a build reads it (../../context/build-files.ts), the working directory standing for the
    // context: a symlink out of it is refused, a FIFO or device never opened, binary never shown.
    const read = await readBuildFileAt(ctx.cwd, p, { what: 'Dockerfile', name: arg });
    if (read === undefined) throw new NotFoundError(`Dockerfile not found: ${p}`, { hint: 'pass the file with -f FILE' });
    text = read;
  }
  const { ast } = parseDockerfile(text, { file });
  if (!values.dump) {
    const u = firstUnknown(ast.instructions);
    if (u) throw unknownInstructionError(u, ast, text);
  }
  ctx.stdout.write(values.json ? `${toJSON(ast)}\n` : dump(ast));
  return 0;
};

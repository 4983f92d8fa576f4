/**
 * One fuzz input through what `mybuild build` does before it runs anything: parse, dump, plan,
 * then each stage's commands through StageEnv (ARG, ENV applied; the others expanded), as the
 * builder does with them; then `--check` and `--call=outline` (the build checks). Errors in the BuildError family (not InternalError) are the expected
 * outcome for a bad input and are formatted as the CLI would print them; anything else is a
 * crash (the CLI's exit 70).
 */
import { BuildError, InternalError } from '../../src/errors.js';
import { dump, parseDockerfile } from '../../src/parser/index.js';
import { buildPlan, ShellLex, StageEnv } from '../../src/plan/index.js';
import { evaluateCall } from '../../src/checks/outline.js';

/** How one input ended: which phase refused it (a user error), or `ok`. */
export type Outcome = 'ok' | 'parse-error' | 'plan-error';

/** Thrown for a crash: what was running and the original exception. */
export class Crash extends Error {
  constructor(
    readonly phase: string,
    readonly error: unknown,
  ) {
    super(`${phase}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  }
}

function userError(phase: string, e: unknown): void {
  if (!(e instanceof BuildError) || e instanceof InternalError) throw new Crash(phase, e);
  try {
    e.format();
  } catch (f) {
    throw new Crash(`${phase} (formatting the error)`, f);
  }
}

const IMAGE_ENV = ['PATH=/usr/local/bin:/usr/bin:/bin', 'a=x', 'b='];

/** Runs `text` through parse, plan and the checks. Returns the outcome; throws Crash for a crash. */
export async function parseAndPlan(text: string): Promise<Outcome> {
  const outcome = plan(text);
  for (const name of ['check', 'outline'] as const) {
    try {
      await evaluateCall({ name, format: 'text', ignoreStatus: false }, text);
    } catch (e) {
      userError(name, e);
    }
  }
  return outcome;
}

function plan(text: string): Outcome {
  let ast;
  try {
    ast = parseDockerfile(text).ast;
  } catch (e) {
    userError('parse', e);
    return 'parse-error';
  }
  try {
    dump(ast);
  } catch (e) {
    throw new Crash('dump', e);
  }
  try {
    const plan = buildPlan(ast, { text, buildArgs: { a: 'from-build-arg' } });
    const lex = new ShellLex(ast.escapeToken);
    for (const stage of plan.stages) {
      const env = new StageEnv({ lex, globalArgs: plan.globalArgs, imageEnv: IMAGE_ENV, file: ast.file, text });
      for (const cmd of stage.commands) {
        if (cmd.kind === 'ARG') env.applyArg(cmd);
        else if (cmd.kind === 'ENV') env.applyEnv(cmd);
        else env.expand(cmd);
      }
    }
  } catch (e) {
    userError('plan', e);
    return 'plan-error';
  }
  return 'ok';
}

/** Test helpers for src/plan: parse a Dockerfile and build the typed commands. */
import assert from 'node:assert/strict';
import { parseDockerfile } from '../../src/parser/index.js';
import type { Dockerfile } from '../../src/parser/ast.js';
import { PlanError } from '../../src/errors.js';
import { type Command } from '../../src/plan/commands.js';
import { parseCommand } from '../../src/plan/instructions.js';

export function ast(text: string): Dockerfile {
  return parseDockerfile(text, { file: 'Dockerfile' }).ast;
}

/** The commands of `text` (FROM lines skipped). */
export function commands(text: string): Command[] {
  const a = ast(text);
  return a.instructions.filter((n) => n.kind !== 'FROM').map((n) => parseCommand(n, { ast: a, text }));
}

/** The single command of `FROM scratch\n<line>`. */
export function command(line: string): Command {
  const c = commands(`FROM scratch\n${line}\n`);
  assert.equal(c.length, 1);
  return c[0]!;
}

/** Asserts `fn` throws a PlanError with `message` (exact string or RegExp) at `line:col`. */
export function assertPlanError(fn: () => unknown, message: string | RegExp, at?: string): PlanError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof PlanError, `expected a PlanError, got ${caught instanceof Error ? `${caught.name}: ${caught.message}` : String(caught)}`);
  if (typeof message === 'string') assert.equal(caught.message, message);
  else assert.match(caught.message, message);
  if (at !== undefined) {
    assert.ok(caught.source, 'error has a source');
    assert.equal(`${caught.source.range.start.line}:${caught.source.range.start.col}`, at);
  }
  return caught;
}

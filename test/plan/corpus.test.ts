import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { parseDockerfile } from '../../src/parser/index.js';
import { buildPlan, ShellLex, StageEnv } from '../../src/plan/index.js';
import { sharedPath } from '../helpers/paths.js';

const corpus = sharedPath('corpus/dockerfiles');

describe('buildPlan on the real-world corpus', () => {
  it('every file plans; graph invariants hold; every command expands with its stage env', { skip: corpus.skip || undefined }, () => {
    const files = readdirSync(corpus.path).sort();
    assert.ok(files.length > 300, `${files.length} files`);
    for (const f of files) {
      const text = readFileSync(path.join(corpus.path, f), 'utf8');
      const { ast } = parseDockerfile(text, { file: f });
      const plan = buildPlan(ast, { text, buildPlatform: { os: 'linux', architecture: 'amd64' } });
      assert.equal(plan.order[plan.order.length - 1], plan.target, f);
      assert.equal(new Set(plan.order).size, plan.order.length, f);
      for (const s of plan.stages) {
        for (const d of s.deps) assert.ok(d < s.index, `${f}: stage ${s.index} depends on ${d}`);
        for (const d of s.deps) if (plan.order.includes(s.index)) assert.ok(plan.order.indexOf(d) < plan.order.indexOf(s.index), `${f}: order`);
      }
      // The builder's loop, minus the image: ARG/ENV bookkeeping and expansion of every command.
      const lex = new ShellLex(ast.escapeToken);
      for (const i of plan.order) {
        const env = new StageEnv({ lex, globalArgs: plan.globalArgs, file: f, text });
        for (const cmd of plan.stages[i]!.commands) {
          if (cmd.kind === 'ARG') env.applyArg(cmd);
          else if (cmd.kind === 'ENV') env.applyEnv(cmd);
          else {
            const r = env.expand(cmd);
            assert.equal(r.cmd.kind, cmd.kind);
          }
        }
      }
    }
  });
});

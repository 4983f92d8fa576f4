/**
 * The folder layering of src/ (README, "How it is built"): a folder imports only folders listed
 * before it in LAYERS, so the folder import graph has no circle. Imports are read from the
 * sources (static `import`/`export … from`, side-effect `import '…'`, dynamic `import('…')`,
 * type-only ones included), so a type import that points up fails as well.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from './helpers/paths.js';

/** Bottom first. `src/x.ts` counts as folder `x` (so `src/cli.ts` belongs to `cli`). */
const LAYERS = ['util', 'oci', 'errors', 'parser', 'plan', 'image', 'store', 'context', 'runtime', 'registry', 'cache', 'checks', 'builder', 'containers', 'api', 'client', 'engine', 'daemon', 'cli', 'index', 'main'];

/** Edges that point up and are being removed elsewhere (none left; none may be added). */
const KNOWN_UPWARD = new Set<string>();

const srcDir = path.join(repoRoot, 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

/** The top folder of a file under src/ (`src/cli.ts` → `cli`). */
function folderOf(file: string): string {
  const [first, ...rest] = path.relative(srcDir, file).split(path.sep);
  return rest.length ? first : first.replace(/\.ts$/, '');
}

/** Relative import specifiers of a source text. Top-level statements start a line (the code is formatted so). */
export function importsOf(text: string): string[] {
  const out: string[] = [];
  const patterns = [/^(?:import|export)\s[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/gm, /^import\s*['"]([^'"]+)['"]/gm, /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g];
  for (const re of patterns) for (const m of text.matchAll(re)) out.push(m[1]);
  return out.filter((s) => s.startsWith('.'));
}

/** `from -> to` folder edges with the files that make them. */
function folderEdges(): Map<string, string[]> {
  const edges = new Map<string, string[]>();
  for (const file of sourceFiles(srcDir)) {
    for (const spec of importsOf(readFileSync(file, 'utf8'))) {
      const target = path.resolve(path.dirname(file), spec).replace(/\.js$/, '.ts');
      const from = folderOf(file);
      const to = folderOf(target);
      if (from === to) continue;
      const key = `${from} -> ${to}`;
      edges.set(key, [...(edges.get(key) ?? []), `${path.relative(repoRoot, file)} imports ${spec}`]);
    }
  }
  return edges;
}

/** A folder cycle in `edges` (as a path a -> b -> … -> a), or undefined. */
function findCycle(edges: Iterable<string>): string[] | undefined {
  const next = new Map<string, string[]>();
  for (const e of edges) {
    const [a, b] = e.split(' -> ');
    next.set(a, [...(next.get(a) ?? []), b]);
  }
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (n: string): string[] | undefined => {
    if (state.get(n) === 'done') return undefined;
    if (state.get(n) === 'open') return [...stack.slice(stack.indexOf(n)), n];
    state.set(n, 'open');
    stack.push(n);
    for (const m of next.get(n) ?? []) {
      const c = visit(m);
      if (c) return c;
    }
    stack.pop();
    state.set(n, 'done');
    return undefined;
  };
  for (const n of next.keys()) {
    const c = visit(n);
    if (c) return c;
  }
  return undefined;
}

describe('architecture: folder layering of src/', () => {
  const edges = folderEdges();

  it('reads static, type-only, re-export, side-effect and dynamic imports', () => {
    const text = "import a from './a.js';\nimport type {\n  B,\n} from '../b.js';\nexport { c } from './c.js';\nimport './d.js';\nconst e = await import('./e.js');\nimport fs from 'node:fs';\n * import x from './comment.js' in a doc comment is not an import\n";
    assert.deepEqual(importsOf(text).sort(), ['../b.js', './a.js', './c.js', './d.js', './e.js']);
  });

  it('knows every folder of src/', () => {
    const folders = new Set(sourceFiles(srcDir).map(folderOf));
    const unknown = [...folders].filter((f) => !LAYERS.includes(f));
    assert.deepEqual(unknown, [], `add these folders to LAYERS in test/architecture.test.ts (and README's "How it is built")`);
  });

  it('has no import that points up the layer order', () => {
    const up = [...edges.keys()].filter((e) => {
      const [a, b] = e.split(' -> ');
      return LAYERS.indexOf(b) > LAYERS.indexOf(a) && !KNOWN_UPWARD.has(e);
    });
    assert.deepEqual(up.map((e) => `${e}: ${edges.get(e)!.join(', ')}`), []);
  });

  it('has no circle between folders', () => {
    assert.equal(findCycle([...edges.keys()].filter((e) => !KNOWN_UPWARD.has(e)))?.join(' -> '), undefined);
  });

  it('keeps the known exceptions real, so each is removed once fixed', () => {
    for (const e of KNOWN_UPWARD) assert.ok(edges.has(e), `${e} no longer exists: remove it from KNOWN_UPWARD`);
  });

  it('src/oci imports nothing else of the project; errors.ts imports only src/oci', () => {
    const from = (f: string) => [...edges.keys()].filter((e) => e.startsWith(`${f} -> `));
    assert.deepEqual(from('oci'), []);
    assert.deepEqual(from('errors'), ['errors -> oci']);
  });
});

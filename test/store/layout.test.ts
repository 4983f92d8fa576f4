/**
 * src/store/layout.ts is the one owner of the store root's layout: every top-level directory it
 * names is one secureStoreRoot tightens (STORE_DIRS), and no other module joins a store
 * directory's name to a root itself.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { STORE_DIRS, storeLayout } from '../../src/store/layout.js';
import { repoRoot } from '../helpers/paths.js';

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

describe('store layout', () => {
  it('names only top-level directories that STORE_DIRS lists, and every one of them', () => {
    const root = '/store';
    const l = storeLayout(root);
    const top = new Set(
      Object.entries(l)
        .filter(([k]) => k !== 'root' && k !== 'indexLock')
        .map(([, p]) => path.relative(root, p).split(path.sep)[0]),
    );
    assert.deepEqual([...top].sort(), [...STORE_DIRS].sort());
    assert.equal(l.indexLock, '/store/index.lock');
    assert.equal(l.blobs, '/store/oci/blobs/sha256');
  });

  it('is the only module that joins a store directory to a root', () => {
    const names = [...STORE_DIRS, 'index.lock'].map((n) => n.replace('.', '\\.')).join('|');
    const re = new RegExp(`path\\.join\\([\\w.]*[rR]oot, '(?:${names})'`);
    const srcDir = path.join(repoRoot, 'src');
    const offenders = sourceFiles(srcDir)
      .filter((f) => path.relative(srcDir, f) !== path.join('store', 'layout.ts'))
      .flatMap((f) => readFileSync(f, 'utf8').split('\n').map((line, i) => ({ f, line, i })))
      .filter(({ line }) => re.test(line))
      .map(({ f, line, i }) => `${path.relative(repoRoot, f)}:${i + 1}: ${line.trim()}`);
    assert.deepEqual(offenders, [], 'take the path from storeLayout(root) (src/store/layout.ts)');
  });
});

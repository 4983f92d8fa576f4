/** Test helper: builds a directory tree from a table. */
import { mkdir, writeFile, symlink } from 'node:fs/promises';
import path from 'node:path';

/** Keys ending in "/" are dirs, values starting with "->" are symlinks, others file contents. */
export async function makeTree(root: string, tree: Record<string, string>): Promise<void> {
  for (const [p, v] of Object.entries(tree)) {
    const abs = path.join(root, p);
    if (p.endsWith('/')) {
      await mkdir(abs, { recursive: true });
      continue;
    }
    await mkdir(path.dirname(abs), { recursive: true });
    if (v.startsWith('->')) await symlink(v.slice(2), abs);
    else await writeFile(abs, v);
  }
}

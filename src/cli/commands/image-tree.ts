/**
 * `mybuild images --tree` (docker 27.3's `docker image ls --tree`): each image once, a
 * multi-platform image with its platforms under it:
 *
 *     IMAGE                 ID             DISK USAGE   CONTENT SIZE
 *     app:1                 3f1c0a2b9d4e       9.01MB         9.03MB
 *     ├─ linux/amd64        0b2e4c8d1a77       4.50MB         4.51MB
 *     └─ linux/arm64        7d9a1e3c5f20       4.51MB         4.52MB
 *
 * The top row's ID is what the name points at (the index for a multi-platform image), its sizes
 * the sum of its stored platforms'; `all` also lists the platforms whose manifest is not stored
 * (a pull keeps one), as docker's `--all`.
 */
import { humanSize, shortId, splitName } from '../../store/display.js';
import type { ImageRow } from '../../engine/engine.js';

/** The tree of `rows` (already sorted); `trunc` cuts IDs to 12 digits. */
export function imageTree(rows: ImageRow[], opts: { all: boolean; trunc: boolean }): string {
  const id = (d: string) => (opts.trunc ? shortId(d) : d);
  const table: string[][] = [['IMAGE', 'ID', 'DISK USAGE', 'CONTENT SIZE']];
  const groups: number[] = [];
  for (const r of rows) {
    const n = r.name === undefined ? '<untagged>' : (({ repository, tag }) => (tag === '<none>' ? repository : `${repository}:${tag}`))(splitName(r.name));
    const children = (r.platforms ?? []).filter((p) => opts.all || p.available);
    const stored = (r.platforms ?? []).filter((p) => p.available);
    const disk = r.platforms ? stored.reduce((a, p) => a + p.size, 0) : r.size;
    const content = r.platforms ? stored.reduce((a, p) => a + p.contentSize, 0) : (r.contentSize ?? r.size);
    groups.push(table.length);
    table.push([n, id(r.digest || r.id), humanSize(disk), humanSize(content)]);
    children.forEach((p, i) => table.push([`${i === children.length - 1 ? '└─' : '├─'} ${p.platform || 'unknown'}`, id(p.digest), humanSize(p.size), humanSize(p.contentSize)]));
  }
  const width = table[0].map((_, c) => Math.max(...table.map((row) => row[c].length)));
  const line = (row: string[]) => row.map((cell, c) => (c >= 2 ? cell.padStart(width[c]) : cell.padEnd(width[c]))).join('   ').trimEnd();
  const out = [line(table[0])];
  for (let g = 0; g < groups.length; g++) {
    if (g > 0) out.push('');
    const end = groups[g + 1] ?? table.length;
    for (let i = groups[g]; i < end; i++) out.push(line(table[i]));
  }
  return `${out.join('\n')}\n`;
}

/**
 * BuildKit's COPY/ADD --exclude test (frontend/dockerfile/exclude_patterns_test.go) as cases: the
 * same six builders over a plain context, and over a git repository served on 127.0.0.1 (dumb
 * HTTP, as upstream's httptest file server).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { tempDir, writeFiles } from '../helpers/build.js';
import { runCases, type Case, type Entry, type FileExpect, type HttpFile } from './harness.js';

const src: Record<string, Entry> = {
  'dir1/file-101.png': '2',
  'dir1/file-102.txt': '3',
  'dir1/file-103.jpeg': '4',
  'dir2/file-201.pdf': '6',
  'dir2/file-202.jpeg': '7',
  'dir2/file-203.png': '8',
  'dir3/file-301.mp3': '9',
  'dir3/file-302.mpeg': '10',
  'dir4/file-401.txt': '11',
  'dir4/file-402.txt': { symlink: 'file-401.txt' },
  'dir4/file-403.txt': { symlink: 'file-404.txt' },
};

const builders = `# ignore all the image files
FROM scratch as builder1
COPY --exclude=*/*.png --exclude=*/*.jpeg . /1
# ignore all document files
FROM scratch as builder2
COPY --exclude=*/*.pdf --exclude=*/*.txt . /2
# ignore all mp3 files
FROM scratch as builder3
ADD --exclude=*.mp3 dir3/ /3/
# keep only .mpeg files, src as a wildcard
FROM scratch as builder4
COPY --exclude=*.mp3 --exclude=*.jpeg --exclude=*.png --exclude=*.pdf --exclude=*.txt dir* /4/
# keep only txt files, src as a wildcard
FROM scratch as builder5
ADD --exclude=*.mp* --exclude=*.jpeg --exclude=*.png --exclude=*.pdf dir* /5
# exclude all files
FROM scratch as builder6
ADD --exclude=* dir* /6
FROM scratch
COPY --from=builder1 / /builder1
COPY --from=builder2 / /builder2
COPY --from=builder3 / /builder3
COPY --from=builder4 / /builder4
COPY --from=builder5 / /builder5
COPY --from=builder6 / /builder6
`;

// upstream: in the git variant every ADD becomes COPY --from=base (ADD has no --from)
const gitBuilders = builders.replace(/^(COPY|ADD) --exclude/gm, 'COPY --from=base --exclude');

const f = (content: string): FileExpect => content;
const l = (target: string): FileExpect => ({ symlink: target });
const expected: Record<string, FileExpect> = {
  'builder1/1/dir1/file-101.png': null,
  'builder1/1/dir1/file-102.txt': f('3'),
  'builder1/1/dir1/file-103.jpeg': null,
  'builder1/1/dir2/file-201.pdf': f('6'),
  'builder1/1/dir2/file-202.jpeg': null,
  'builder1/1/dir2/file-203.png': null,
  'builder1/1/dir3/file-301.mp3': f('9'),
  'builder1/1/dir3/file-302.mpeg': f('10'),
  'builder1/1/dir4/file-401.txt': f('11'),
  'builder1/1/dir4/file-402.txt': l('file-401.txt'),
  'builder1/1/dir4/file-403.txt': l('file-404.txt'),
  'builder2/2/dir1/file-101.png': f('2'),
  'builder2/2/dir1/file-102.txt': null,
  'builder2/2/dir1/file-103.jpeg': f('4'),
  'builder2/2/dir2/file-201.pdf': null,
  'builder2/2/dir2/file-202.jpeg': f('7'),
  'builder2/2/dir2/file-203.png': f('8'),
  'builder2/2/dir3/file-301.mp3': f('9'),
  'builder2/2/dir3/file-302.mpeg': f('10'),
  'builder2/2/dir4/file-401.txt': null,
  'builder2/2/dir4/file-402.txt': null,
  'builder2/2/dir4/file-403.txt': null,
  'builder3/3/file-301.mp3': null,
  'builder3/3/file-302.mpeg': f('10'),
  'builder4/4/file-101.png': null,
  'builder4/4/file-102.txt': null,
  'builder4/4/file-103.jpeg': null,
  'builder4/4/file-201.pdf': null,
  'builder4/4/file-202.jpeg': null,
  'builder4/4/file-203.png': null,
  'builder4/4/file-301.mp3': null,
  'builder4/4/file-302.mpeg': f('10'),
  'builder4/4/dir4/file-401.txt': null,
  'builder4/4/dir4/file-402.txt': null,
  'builder4/4/dir4/file-403.txt': null,
  'builder5/5/file-101.png': null,
  'builder5/5/file-102.txt': f('3'),
  'builder5/5/file-103.jpeg': null,
  'builder5/5/file-201.pdf': null,
  'builder5/5/file-202.jpeg': null,
  'builder5/5/file-203.png': null,
  'builder5/5/file-301.mp3': null,
  'builder5/5/file-302.mpeg': null,
  'builder5/5/file-401.txt': f('11'),
  'builder5/5/file-402.txt': l('file-401.txt'),
  'builder5/5/file-403.txt': l('file-404.txt'),
};

const builder6Empty = async (out: string) => assert.deepEqual(await readdir(path.join(out, 'builder6/6')), []);

/** The files of a git repository's .git, by URL path under /.git (a dumb-HTTP remote). */
const gitFiles: Record<string, HttpFile> = {};
async function gitRepo(): Promise<void> {
  const dir = await tempDir('mybuild-bkgit-');
  await writeFiles(dir, Object.fromEntries(Object.entries(src).map(([k, v]) => [k, typeof v === 'string' ? v : 'symlink' in v ? { symlink: v.symlink } : ''])));
  const git = (...args: string[]) => execFileSync('git', args, { cwd: dir, stdio: 'pipe' });
  git('init', '-q');
  git('config', '--local', 'user.email', 'test');
  git('config', '--local', 'user.name', 'test');
  git('add', '.');
  git('commit', '-q', '-m', '0.1');
  git('tag', '0.1');
  git('update-server-info');
  const walk = async (rel: string): Promise<void> => {
    for (const e of await readdir(path.join(dir, rel), { withFileTypes: true })) {
      const r = path.join(rel, e.name);
      if (e.isDirectory()) await walk(r);
      else gitFiles[`/${r}`] = { content: await readFile(path.join(dir, r)) };
    }
  };
  await walk('.git');
}

/** The expectations of builder N, as paths of its own root (upstream copies each into /builderN). */
const of = (n: number): Record<string, FileExpect> =>
  Object.fromEntries(Object.entries(expected).flatMap(([k, v]) => (k.startsWith(`builder${n}/`) ? [[k.slice(`builder${n}/`.length), v]] : [])));

// One case per builder stage (--target builderN), so that one difference does not hide the others.
const todos: Record<number, string> = {};
const perBuilder: Case[] = [1, 2, 3, 4, 5, 6].map((n) => ({
  name: `testExcludedFilesOnCopy/context/builder${n}`,
  dockerfile: builders,
  context: src,
  opts: { target: `builder${n}` },
  files: of(n),
  check: n === 6 ? async (r) => assert.deepEqual(await readdir(path.join(r.out, '6')), []) : undefined,
  todo: todos[n],
}));

const cases: Case[] = [
  ...perBuilder,
  {
    name: 'testExcludedFilesOnCopy/git',
    what: 'the same --exclude patterns, COPY --from a stage that ADDs a git repository',
    dockerfile: `FROM scratch AS base
ARG REPO="{{URL}}/.git"
ARG TAG="0.1"
ADD --keep-git-dir=true \${REPO}#\${TAG} /
${gitBuilders}`,
    context: async () => {
      await gitRepo();
      return {};
    },
    http: gitFiles,
    files: expected,
    check: (r) => builder6Empty(r.out),
  },
];

runCases('buildkit: --exclude (exclude_patterns_test.go)', cases);

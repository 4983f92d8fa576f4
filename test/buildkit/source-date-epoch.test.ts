/**
 * BuildKit's SOURCE_DATE_EPOCH tests (frontend/dockerfile/dockerfile_source_date_epoch_test.go)
 * as cases, through the CLI with an OCI layout output: the image's created times, the
 * `buildkit/rewritten-timestamp` layer annotation of `rewrite-timestamp=true`, SOURCE_DATE_EPOCH
 * from a build arg, a Dockerfile default, the context (git, HTTP) or a stage.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { runCliProcess, tempDir, writeFiles } from '../helpers/build.js';
import { runCases, tarball, type Case, type CaseResult, type HttpFile } from './harness.js';

interface Oci {
  manifest: { layers: { digest: string; annotations?: Record<string, string> }[] };
  config: { created?: string; history?: { created?: string }[] };
  dir: string;
}

/** `mybuild build` of the case's context with an OCI layout output (`attrs` added to it). */
async function ociBuild(r: CaseResult, args: string[] = [], attrs = '', context = '.'): Promise<Oci> {
  const dir = path.join(await tempDir('mybuild-bkoci-'), 'oci');
  const p = await runCliProcess(['--root', r.root, 'build', '--output', `type=oci,dest=${dir},tar=false${attrs}`, ...args, context], { cwd: r.contextDir });
  assert.equal(p.code, 0, p.stderr);
  const blob = async (d: string) => JSON.parse(await readFile(path.join(dir, 'blobs/sha256', d.slice(7)), 'utf8'));
  const index = JSON.parse(await readFile(path.join(dir, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
  const manifest = await blob(index.manifests[0].digest);
  return { manifest, config: await blob(manifest.config.digest), dir };
}
const unix = (t?: string) => (t ? Math.floor(Date.parse(t) / 1000) : undefined);
const rewritten = (o: Oci, i = o.manifest.layers.length - 1) => o.manifest.layers[i]?.annotations?.['buildkit/rewritten-timestamp'];
/** The files of layer `i` (gzip tar) as name → contents. */
async function layerFiles(o: Oci, i: number): Promise<Record<string, string>> {
  const file = path.join(o.dir, 'blobs/sha256', o.manifest.layers[i].digest.slice(7));
  const list = execFileSync('tar', ['-xzOf', file, '--wildcards', '*epoch*']).toString();
  return { epoch: list };
}

/** A tar context whose files have the given modification times. */
async function tarContext(files: { name: string; data: string; mtime: number }[]): Promise<Buffer> {
  return tarball(files.map((f) => ({ name: f.name, content: f.data, mtime: new Date(f.mtime * 1000) })));
}

const rewrite = ',rewrite-timestamp=true';
const served: Record<string, HttpFile> = {};
const gitServed: Record<string, HttpFile> = {};

const cases: Case[] = [
  {
    name: 'testSourceDateEpochWithoutExporter',
    what: 'the SOURCE_DATE_EPOCH build arg sets created and every history entry',
    dockerfile: 'FROM scratch\nENTRYPOINT foo bar\nCOPY Dockerfile .\n',
    noBuild: true,
    check: async (r) => {
      const o = await ociBuild(r, ['--build-arg', 'SOURCE_DATE_EPOCH=1700000001'], ',source-date-epoch=');
      assert.equal(unix(o.config.created), 1700000001);
      for (const h of o.config.history ?? []) assert.equal(unix(h.created), 1700000001);
    },
  },
  {
    name: 'testSourceDateEpochDockerfileDefault',
    what: 'ARG SOURCE_DATE_EPOCH=<t> in the Dockerfile is the default epoch; rewrite-timestamp annotates the layer',
    dockerfile: `ARG SOURCE_DATE_EPOCH=${Date.UTC(2015, 9, 21, 7, 28) / 1000}\nFROM scratch\nCOPY Dockerfile .\n`,
    noBuild: true,
    check: async (r) => {
      const o = await ociBuild(r, [], rewrite);
      assert.equal(o.manifest.layers.length, 1);
      assert.equal(rewritten(o, 0), String(Date.UTC(2015, 9, 21, 7, 28) / 1000));
    },
    todo: 'issue 16: --output type=oci accepts rewrite-timestamp=true and ignores it: the layer has no buildkit/rewritten-timestamp annotation',
  },
  {
    name: 'testSourceDateEpochDockerfileDefaultOverride',
    what: 'a SOURCE_DATE_EPOCH build arg wins over the Dockerfile default',
    dockerfile: 'ARG SOURCE_DATE_EPOCH=1700000001\nFROM scratch\nCOPY Dockerfile .\n',
    noBuild: true,
    check: async (r) => {
      const o = await ociBuild(r, ['--build-arg', 'SOURCE_DATE_EPOCH=1700000002'], rewrite);
      assert.equal(o.manifest.layers.length, 1);
      assert.equal(rewritten(o, 0), '1700000002');
    },
    todo: 'issue 16: --output type=oci accepts rewrite-timestamp=true and ignores it: the layer has no buildkit/rewritten-timestamp annotation',
  },
  {
    name: 'testSourceDateEpochDockerfileDefaultReset',
    what: 'source-date-epoch= (empty) on the exporter drops the Dockerfile default: no rewrite',
    dockerfile: `ARG SOURCE_DATE_EPOCH=${Date.UTC(2015, 9, 21, 7, 28) / 1000}\nFROM scratch\nCOPY Dockerfile .\n`,
    noBuild: true,
    check: async (r) => {
      const o = await ociBuild(r, [], `,source-date-epoch=${rewrite}`);
      assert.equal(o.manifest.layers.length, 1);
      assert.equal(rewritten(o, 0) ?? '', '');
    },
  },
  {
    name: 'testSourceDateEpochDockerfileDefaultInvalid',
    dockerfile: 'ARG SOURCE_DATE_EPOCH=not-a-timestamp\nFROM scratch\nCOPY Dockerfile .\n',
    noBuild: true,
    check: async (r) => {
      const dir = path.join(await tempDir('mybuild-bkoci-'), 'oci');
      const p = await runCliProcess(['--root', r.root, 'build', '--output', `type=oci,dest=${dir},tar=false`, '.'], { cwd: r.contextDir });
      assert.notEqual(p.code, 0);
      assert.ok(p.stderr.includes('invalid SOURCE_DATE_EPOCH: not-a-timestamp'), p.stderr);
    },
    todo: 'issue 16: an invalid Dockerfile default ARG SOURCE_DATE_EPOCH=not-a-timestamp is accepted (BuildKit: "invalid SOURCE_DATE_EPOCH: not-a-timestamp")',
  },
  {
    name: 'testSourceDateEpochContextGit',
    what: 'SOURCE_DATE_EPOCH=context with a git context is the commit time',
    dockerfile: '',
    noBuild: true,
    context: async () => {
      const dir = await tempDir('mybuild-bkgit-');
      await writeFiles(dir, { Dockerfile: 'FROM scratch\nCOPY Dockerfile /\n' });
      const env = { ...process.env, GIT_AUTHOR_DATE: '2023-11-14T22:15:01Z', GIT_COMMITTER_DATE: '2023-11-14T22:15:01Z' };
      const git = (...a: string[]) => execFileSync('git', a, { cwd: dir, env, stdio: 'pipe' });
      git('init', '-q');
      git('config', '--local', 'user.email', 'test@example.com');
      git('config', '--local', 'user.name', 'test');
      git('add', 'Dockerfile');
      git('commit', '-q', '-m', 'msg');
      git('update-server-info');
      const walk = async (rel: string): Promise<void> => {
        for (const e of await readdir(path.join(dir, rel), { withFileTypes: true })) {
          const p = path.join(rel, e.name);
          if (e.isDirectory()) await walk(p);
          else gitServed[`/${p}`] = { content: await readFile(path.join(dir, p)) };
        }
      };
      await walk('.git');
      return {};
    },
    http: gitServed,
    check: async (r) => {
      const o = await ociBuild(r, ['--build-arg', 'SOURCE_DATE_EPOCH=context'], '', `${r.url}/.git`);
      assert.equal(unix(o.config.created), 1700000101);
    },
    todo: 'issue 16: SOURCE_DATE_EPOCH=context is refused ("must be a number of seconds"), and a git URL as the build context is not supported',
  },
  {
    name: 'testSourceDateEpochContextLocalUnset',
    what: 'SOURCE_DATE_EPOCH=context with a local context sets no epoch: no rewrite',
    dockerfile: 'FROM scratch\nCOPY Dockerfile /\n',
    noBuild: true,
    check: async (r) => {
      const o = await ociBuild(r, ['--build-arg', 'SOURCE_DATE_EPOCH=context'], rewrite);
      assert.equal(o.manifest.layers.length, 1);
      assert.equal(rewritten(o, 0) ?? '', '');
    },
    todo: 'issue 16: SOURCE_DATE_EPOCH=context is refused: "SOURCE_DATE_EPOCH must be a number of seconds, got \"context\""',
  },
  {
    name: 'testSourceDateEpochStageInvalid',
    what: 'ARG SOURCE_DATE_EPOCH=<stage> needs a source-only stage',
    dockerfile: 'ARG SOURCE_DATE_EPOCH=mysource\nFROM scratch AS mysource\nCOPY Dockerfile /Dockerfile\nFROM scratch\n',
    error: 'SOURCE_DATE_EPOCH stage does not meet source-only requirements',
    todo: 'issue 16: ARG SOURCE_DATE_EPOCH=<stage> is not understood: the build succeeds',
  },
  {
    name: 'testSourceDateEpochStageHTTPArchive',
    what: 'ARG SOURCE_DATE_EPOCH=<stage> of an ADDed HTTP archive is the newest time in the archive',
    dockerfile: 'ARG SOURCE_DATE_EPOCH=mysource\nFROM scratch AS mysource\nADD {{URL}}/src.tar /\nFROM busybox\nARG SOURCE_DATE_EPOCH\nRUN echo -n "$SOURCE_DATE_EPOCH" >/epoch\n',
    noBuild: true,
    context: async () => {
      served['/src.tar'] = { content: await tarContext([{ name: 'foo', data: 'bar', mtime: 1700000402 }]) };
      return {};
    },
    http: served,
    check: async (r) => {
      const o = await ociBuild(r, [], rewrite);
      assert.equal(rewritten(o), '1700000402');
      assert.equal((await layerFiles(o, o.manifest.layers.length - 1)).epoch, '1700000402');
      assert.equal(unix(o.config.created), 1700000402);
    },
    todo: 'issue 16: ARG SOURCE_DATE_EPOCH=<stage> is not understood and rewrite-timestamp=true is ignored: no buildkit/rewritten-timestamp annotation',
  },
  { name: 'testSourceDateEpochContextHTTPLastModified', dockerfile: '', skip: 'needs an HTTP tarball URL as the build context; mybuild takes a directory only (see testTarContext)' },
  { name: 'testSourceDateEpochContextHTTPArchive', dockerfile: '', skip: 'needs an HTTP tarball URL as the build context; mybuild takes a directory only (see testTarContext)' },
  { name: 'testSourceDateEpochStageOverride', dockerfile: '', skip: 'same mechanism as testSourceDateEpochStageHTTPArchive (a stage as SOURCE_DATE_EPOCH, overridden by the build arg), which is a todo: nothing more to learn until it exists' },
  { name: 'testSourceDateEpochNamedContextHTTPLastModified', dockerfile: '', skip: 'needs a named build context (context:mysource=<url>); mybuild has no --build-context' },
  { name: 'testSourceDateEpochNamedContextHTTPArchive', dockerfile: '', skip: 'needs a named build context (context:mysource=<url>); mybuild has no --build-context' },
  { name: 'testReproSourceDateEpoch', dockerfile: '', skip: 'network: amd64/debian:bullseye-20230109-slim from Docker Hub, and expected digests tied to that image' },
];

runCases('buildkit: SOURCE_DATE_EPOCH (dockerfile_source_date_epoch_test.go)', cases);

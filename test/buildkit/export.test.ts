/**
 * BuildKit's exporter tests (frontend/dockerfile/dockerfile_export_test.go) as cases: the tar
 * exporter, multi-platform exports, tar contexts.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import tarStream from 'tar-stream';
import { tempDir } from '../helpers/build.js';
import { cliPath } from '../helpers/paths.js';
import { runCases, tarball, type Case } from './harness.js';

/** name → contents of the regular files of a tar file. */
async function tarFiles(file: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  const extract = tarStream.extract();
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (header, stream, next) => {
      let body = '';
      stream.on('data', (d: unknown) => (body += String(d)));
      stream.on('end', () => {
        if (header.type === 'file') files.set(header.name.replace(/^\.\//, ''), body);
        next();
      });
    });
    extract.on('finish', resolve).on('error', reject);
  });
  Readable.from([await readFile(file)]).pipe(extract);
  await done;
  return files;
}

/** The CLI with `input` on stdin. */
function cliWithInput(args: string[], input: Buffer, cwd: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, ...args], { cwd, stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
    child.stdin.end(input);
  });
}

const cases: Case[] = [
  {
    name: 'testTarExporterBasic',
    dockerfile: 'FROM scratch\nCOPY foo foo\n',
    context: { foo: 'data' },
    check: async (r) => {
      const out = path.join(await tempDir('mybuild-bkout-'), 'out.tar');
      const { buildContext } = await import('../helpers/build.js');
      await buildContext(r.root, r.contextDir, { outputs: [{ type: 'tar', dest: out }] });
      assert.equal((await tarFiles(out)).get('foo'), 'data');
    },
  },
  {
    name: 'testTarExporterMulti/single',
    what: 'FROM stage-$TARGETOS picks the linux stage',
    dockerfile: 'FROM scratch AS stage-linux\nCOPY foo forlinux\nFROM scratch AS stage-darwin\nCOPY bar fordarwin\nFROM stage-$TARGETOS\n',
    context: { foo: 'data', bar: 'data2' },
    check: async (r) => {
      const out = path.join(await tempDir('mybuild-bkout-'), 'out.tar');
      const { buildContext } = await import('../helpers/build.js');
      await buildContext(r.root, r.contextDir, { outputs: [{ type: 'tar', dest: out }] });
      assert.equal((await tarFiles(out)).get('forlinux'), 'data');
    },
  },
  {
    name: 'testTarExporterMulti/two platforms',
    what: 'a tar export of two platforms has a directory per platform',
    dockerfile: 'FROM scratch AS stage-linux\nCOPY foo forlinux\nFROM scratch AS stage-darwin\nCOPY bar fordarwin\nFROM stage-$TARGETOS\n',
    context: { foo: 'data', bar: 'data2' },
    noBuild: true,
    check: async (r) => {
      const out = path.join(await tempDir('mybuild-bkout-'), 'out.tar');
      const { buildContext } = await import('../helpers/build.js');
      await buildContext(r.root, r.contextDir, { platform: 'linux/amd64,darwin/amd64', outputs: [{ type: 'tar', dest: out }] });
      const files = await tarFiles(out);
      assert.equal(files.get('linux_amd64/forlinux'), 'data');
      assert.equal(files.get('darwin_amd64/fordarwin'), 'data2');
    },
  },
  {
    name: 'testExportMultiPlatform',
    what: 'local and OCI exports of three platforms: a dir per platform, an index of three manifests',
    dockerfile: 'FROM scratch\nARG TARGETARCH\nARG TARGETPLATFORM\nLABEL target=$TARGETPLATFORM\nCOPY arch-$TARGETARCH whoami\n',
    context: { 'arch-arm': 'i am arm', 'arch-amd64': 'i am amd64', 'arch-s390x': 'i am s390x', 'arch-ppc64le': 'i am ppc64le' },
    noBuild: true,
    check: async (r) => {
      const out = path.join(await tempDir('mybuild-bkout-'), 'out');
      const { buildContext } = await import('../helpers/build.js');
      await buildContext(r.root, r.contextDir, { platform: 'windows/amd64,linux/arm,linux/s390x', outputs: [{ type: 'local', dest: out }] });
      assert.equal(await readFile(path.join(out, 'windows_amd64/whoami'), 'utf8'), 'i am amd64');
      assert.equal(await readFile(path.join(out, 'linux_arm_v7/whoami'), 'utf8'), 'i am arm');
      assert.equal(await readFile(path.join(out, 'linux_s390x/whoami'), 'utf8'), 'i am s390x');
      const oci = path.join(await tempDir('mybuild-bkout-'), 'oci');
      await buildContext(r.root, r.contextDir, { platform: 'windows/amd64,linux/arm/v6,linux/ppc64le', outputs: [{ type: 'oci', dest: oci, tar: false }] });
      const idx = JSON.parse(await readFile(path.join(oci, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
      const list = JSON.parse(await readFile(path.join(oci, 'blobs/sha256', idx.manifests[0].digest.slice(7)), 'utf8')) as { manifests: { platform?: { os: string; architecture: string; variant?: string } }[] };
      assert.deepEqual(list.manifests.map((m) => [m.platform?.os, m.platform?.architecture, m.platform?.variant].filter(Boolean).join('/')), ['windows/amd64', 'linux/arm/v6', 'linux/ppc64le']);
    },
  },
  {
    name: 'testTarContext',
    what: 'the context (Dockerfile included) as a tar stream on stdin',
    dockerfile: '',
    noBuild: true,
    check: async (r) => {
      const ctx = await tarball([{ name: 'Dockerfile', content: 'FROM scratch\nCOPY foo /' }, { name: 'foo', content: 'contents' }]);
      const p = await cliWithInput(['--root', r.root, 'build', '-'], ctx, r.contextDir);
      assert.equal(p.code, 0, p.stderr);
    },
  },
  {
    name: 'testTarContextExternalDockerfile',
    dockerfile: '',
    skip: 'the "contextsubdir" of an uploaded tar context is a BuildKit frontend attribute with no docker build (or mybuild) flag',
  },
];

runCases('buildkit: exporters (dockerfile_export_test.go)', cases);

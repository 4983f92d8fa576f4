/**
 * SLSA provenance attestations (issue 17) through the CLI against the real registry (Debian's
 * docker-registry on 127.0.0.1), read back with `skopeo inspect --raw` and the registry's blob
 * API: buildx's default (mode=min on --push; none in the local store), `--provenance=mode=max`
 * (build steps, the Dockerfile, layers), `version=v0.2`, the resolved materials (the base image
 * as a pkg:docker purl with the digest its name resolved to, a git source's commit, an ADD URL's
 * digest), reproducibility with SOURCE_DATE_EPOCH, `--output type=oci`, one attestation per
 * platform of a multi-platform build, and the refusals (`--sbom`, `--attest type=…`, outputs
 * that cannot hold one).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Descriptor, Index, Manifest } from '../../src/oci/types.js';
import { hostPlatform } from '../../src/oci/platform.js';
import { ImageStore } from '../../src/store/image-store.js';
import { baseImageSkipReason, ensureBaseImage, ensureMultiArchBaseImage, multiArchSkipReason } from '../helpers/base-image.js';
import { buildSkipReason } from '../helpers/build.js';
import { runCli } from '../helpers/cli.js';
import { makeGitRepo, serveGitHttp, type Served } from '../helpers/git-server.js';
import { registryMissing, run, skopeoMissing, startRegistry, type TestRegistry } from '../helpers/registry.js';

const skip = buildSkipReason() || registryMissing || skopeoMissing || baseImageSkipReason();
const arch = hostPlatform().architecture;

interface Statement {
  _type: string;
  predicateType: string;
  subject: { name: string; digest: Record<string, string> }[];
  predicate: Record<string, any>;
}

describe('mybuild build --provenance / --attest against a registry', { skip }, () => {
  let reg: TestRegistry;
  let tmp: string;
  let env: NodeJS.ProcessEnv;
  let baseDigest: string;
  let n = 0;
  let files: http.Server;
  let filesUrl: string;
  const ctx = async (dockerfile: string, extra: Record<string, string> = {}): Promise<string> => {
    const dir = path.join(tmp, `ctx-${++n}`);
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'Dockerfile'), dockerfile);
    for (const [f, text] of Object.entries(extra)) await writeFile(path.join(dir, f), text);
    return dir;
  };
  const raw = async (ref: string): Promise<any> => JSON.parse(await run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${ref}`]));
  const blob = async (repo: string, digest: string): Promise<Buffer> => {
    const res = await fetch(`http://${reg.domain}/v2/${repo}/blobs/${digest}`);
    assert.equal(res.status, 200, `GET blob ${digest}`);
    return Buffer.from(await res.arrayBuffer());
  };
  /** The pushed index of `repo:tag`, its image entry, its attestation entry and the statement. */
  const pushedProvenance = async (repo: string, tag: string) => {
    const index = (await raw(`${reg.domain}/${repo}:${tag}`)) as Index;
    assert.equal(index.mediaType, 'application/vnd.oci.image.index.v1+json');
    const image = index.manifests.find((m) => m.platform?.os === 'linux')!;
    const att = index.manifests.find((m) => m.platform?.os === 'unknown')!;
    assert.ok(image && att, JSON.stringify(index));
    const attManifest = (await raw(`${reg.domain}/${repo}@${att.digest}`)) as Manifest;
    const layer = attManifest.layers[0]!;
    const bytes = await blob(repo, layer.digest);
    return { index, image, att, attManifest, layer, bytes, statement: JSON.parse(bytes.toString('utf8')) as Statement };
  };

  before(async () => {
    reg = await startRegistry('anonymous');
    tmp = await mkdtemp(path.join(os.tmpdir(), 'mybuild-provenance-'));
    env = { PATH: process.env.PATH, HOME: tmp, DOCKER_CONFIG: path.join(tmp, 'docker') };
    await run('skopeo', ['copy', '--dest-tls-verify=false', `oci:${await ensureBaseImage()}:latest`, `docker://${reg.domain}/base:1`]);
    baseDigest = (await run('skopeo', ['inspect', '--format', '{{.Digest}}', '--tls-verify=false', `docker://${reg.domain}/base:1`])).trim();
    files = http.createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end('remote file\n');
    });
    await new Promise<void>((resolve) => files.listen(0, '127.0.0.1', resolve));
    filesUrl = `http://127.0.0.1:${(files.address() as AddressInfo).port}`;
  });
  after(async () => {
    await reg?.stop();
    files?.close();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('--push attaches buildx\'s default provenance (mode=min) as an attestation manifest; the local store gets none', async () => {
    const root = path.join(tmp, 'root-default');
    const dir = await ctx(`FROM ${reg.domain}/base:1\nARG FOO\nRUN echo "$FOO" > /foo\n`);
    const r = await runCli(['--root', root, 'build', '--progress', 'plain', '--build-arg', 'FOO=bar', '--label', 'l=v', '--push', '-t', `${reg.domain}/app:min`, dir], { env });
    assert.equal(r.code, 0, r.err + r.out);
    const p = await pushedProvenance('app', 'min');
    assert.equal(p.index.manifests.length, 2);
    assert.deepEqual(p.image.platform, { architecture: arch, os: 'linux' });
    assert.deepEqual(p.att.platform, { architecture: 'unknown', os: 'unknown' });
    assert.deepEqual(p.att.annotations, { 'vnd.docker.reference.digest': p.image.digest, 'vnd.docker.reference.type': 'attestation-manifest' });
    assert.equal(p.layer.mediaType, 'application/vnd.in-toto+json');
    assert.deepEqual(p.layer.annotations, { 'in-toto.io/predicate-type': 'https://slsa.dev/provenance/v1' });
    // The attestation config: BuildKit's image config for unknown/unknown, diff IDs = the statements.
    const cfg = JSON.parse((await blob('app', p.attManifest.config.digest)).toString()) as { architecture: string; os: string; rootfs: { diff_ids: string[] } };
    assert.deepEqual([cfg.architecture, cfg.os, cfg.rootfs.diff_ids], ['unknown', 'unknown', [p.layer.digest]]);

    const s = p.statement;
    assert.equal(s._type, 'https://in-toto.io/Statement/v1');
    assert.equal(s.predicateType, 'https://slsa.dev/provenance/v1');
    const port = reg.domain.split(':')[1];
    assert.deepEqual(s.subject, [{ name: `pkg:docker/127.0.0.1%3A${port}/app@min?platform=linux%2F${arch}`, digest: { sha256: p.image.digest.slice(7) } }]);
    const def = s.predicate.buildDefinition;
    assert.equal(def.buildType, 'https://github.com/moby/buildkit/blob/master/docs/attestations/slsa-definitions.md');
    assert.deepEqual(def.resolvedDependencies, [{ uri: `pkg:docker/127.0.0.1%3A${port}/base@1?platform=linux%2F${arch}`, digest: { sha256: baseDigest.slice(7) } }]);
    // mode=min: build args and labels are left out, so the request is incomplete.
    assert.deepEqual(def.externalParameters, { configSource: { path: 'Dockerfile' }, request: { frontend: 'dockerfile.v0', locals: [{ name: 'context' }, { name: 'dockerfile' }] } });
    assert.equal(def.internalParameters.buildConfig, undefined);
    assert.equal(def.internalParameters.builderPlatform, `linux/${arch}`);
    const meta = s.predicate.runDetails.metadata;
    assert.deepEqual(s.predicate.runDetails.builder, { id: '' });
    assert.match(meta.invocationId, /^[0-9a-z]{25}$/);
    assert.ok(Date.parse(meta.startedOn) <= Date.parse(meta.finishedOn));
    assert.deepEqual(meta.buildkit_completeness, { request: false, resolvedDependencies: false });
    assert.deepEqual(meta.buildkit_metadata, {});

    // The local store has the plain image (buildx's --load gets no default provenance).
    const store = await ImageStore.open(root);
    const local = await store.resolve(`${reg.domain}/app:min`);
    assert.equal(local.descriptor.mediaType, 'application/vnd.oci.image.manifest.v1+json');
    // And `inspect` shows the pushed index as the repo digest.
    const inspect = await runCli(['--root', root, 'inspect', `${reg.domain}/app:min`], { env });
    const pushedDigest = (await run('skopeo', ['inspect', '--format', '{{.Digest}}', '--tls-verify=false', `docker://${reg.domain}/app:min`])).trim();
    assert.ok((JSON.parse(inspect.out) as { RepoDigests: string[] }[])[0].RepoDigests.includes(`${reg.domain}/app@${pushedDigest}`), inspect.out);

    // BUILDX_NO_DEFAULT_ATTESTATIONS=1 and --provenance=false: the plain manifest is pushed.
    for (const [args, e] of [[['--provenance=false'], env], [[], { ...env, BUILDX_NO_DEFAULT_ATTESTATIONS: '1' }]] as const) {
      const tag = `plain${++n}`;
      const r2 = await runCli(['--root', root, 'build', '--progress', 'plain', '--build-arg', 'FOO=bar', ...args, '--push', '-t', `${reg.domain}/app:${tag}`, dir], { env: e });
      assert.equal(r2.code, 0, r2.err);
      assert.equal((await raw(`${reg.domain}/app:${tag}`)).mediaType, 'application/vnd.oci.image.manifest.v1+json', args.join(' '));
    }
  });

  it('--provenance=mode=max records the build args, the steps, the Dockerfile and the layers; the same inputs and SOURCE_DATE_EPOCH give the same statement', async () => {
    const repo = await makeGitRepo({ 'g.txt': 'from git\n' });
    const commit = repo.git('rev-parse', 'HEAD');
    const git: Served = await serveGitHttp(repo);
    try {
      const dockerfile = `FROM ${reg.domain}/base:1 AS base\nARG FOO\nRUN --mount=type=secret,id=tok,required=false echo "$FOO" > /foo\nFROM base\nADD ${git.url('repo.git')}#main /src\nADD ${filesUrl}/file.txt /file.txt\nCOPY --from=base /foo /copied\n`;
      const dir = await ctx(dockerfile);
      const sde = { ...env, SOURCE_DATE_EPOCH: '1700000000' };
      const pushOnce = async (tag: string, root: string) => {
        const r = await runCli(['--root', root, 'build', '--progress', 'plain', '--provenance=mode=max', '--build-arg', 'FOO=bar', '--push', '-t', `${reg.domain}/max:${tag}`, dir], { env: sde });
        assert.equal(r.code, 0, r.err + r.out);
        return pushedProvenance('max', tag);
      };
      const a = await pushOnce('r', path.join(tmp, 'root-max-a'));
      const s = a.statement;
      const def = s.predicate.buildDefinition;
      assert.deepEqual(def.externalParameters.request.args, { 'build-arg:FOO': 'bar' });
      assert.deepEqual(def.externalParameters.request.secrets, [{ id: 'tok', optional: true }]);
      const fileDigest = createHash('sha256').update('remote file\n').digest('hex');
      assert.deepEqual(def.resolvedDependencies.map((d: { uri: string }) => d.uri), [`pkg:docker/127.0.0.1%3A${reg.domain.split(':')[1]}/base@1?platform=linux%2F${arch}`, `${git.url('repo.git')}#refs/heads/main`, `${filesUrl}/file.txt`]);
      assert.deepEqual(def.resolvedDependencies[1].digest, { sha1: commit });
      assert.deepEqual(def.resolvedDependencies[2].digest, { sha256: fileDigest });
      const meta = s.predicate.runDetails.metadata;
      assert.deepEqual(meta.buildkit_completeness, { request: true, resolvedDependencies: false });
      assert.equal(meta.startedOn, '2023-11-14T22:13:20Z');
      assert.equal(meta.finishedOn, '2023-11-14T22:13:20Z');
      // The steps: FROM (source), RUN (exec), ADD git, ADD url, COPY --from, and the result.
      const steps = def.internalParameters.buildConfig.llbDefinition as { id: string; op: any; inputs?: string[] }[];
      assert.equal(steps.length, 6, JSON.stringify(steps));
      assert.equal(steps[0]!.op.Op.source.identifier, `docker-image://${reg.domain}/base:1@${baseDigest}`);
      assert.deepEqual(steps[1]!.op.Op.exec.meta.args, ['/bin/sh', '-c', 'echo "$FOO" > /foo']);
      assert.ok(steps[1]!.op.Op.exec.meta.env.includes('FOO=bar'));
      assert.deepEqual(steps[1]!.inputs, ['step0:0']);
      assert.deepEqual(steps[4]!.inputs, ['step3:0', 'step1:0'], 'COPY --from=base reads the RUN step');
      assert.deepEqual(steps[5], { id: 'step5', op: {}, inputs: ['step4:0'] });
      const source = meta.buildkit_metadata.source;
      assert.equal(Buffer.from(source.infos[0].data, 'base64').toString(), dockerfile);
      assert.equal(source.infos[0].filename, 'Dockerfile');
      assert.deepEqual(source.locations.step1, { locations: [{ ranges: [{ start: { line: 3 }, end: { line: 3 } }] }] });
      assert.equal(Object.keys(meta.buildkit_metadata.layers).length, 4, 'RUN, both ADDs and the COPY made layers');
      assert.equal(meta.buildkit_metadata.layers['step4:0'][0].length, (await raw(`${reg.domain}/max@${a.image.digest}`)).layers.length);

      // The same build in another empty store: the same statement, attestation and index.
      const b = await pushOnce('r', path.join(tmp, 'root-max-b'));
      assert.equal(b.bytes.toString(), a.bytes.toString());
      assert.equal(b.att.digest, a.att.digest);
      assert.equal(b.index.manifests[0]!.digest, a.index.manifests[0]!.digest);

      // An explicit provenance is in the local store too: the name is the index; run still runs the image.
      const store = await ImageStore.open(path.join(tmp, 'root-max-a'));
      const local = await store.resolve(`${reg.domain}/max:r`);
      assert.equal(local.descriptor.mediaType, 'application/vnd.oci.image.index.v1+json');
      const ran = await runCli(['--root', path.join(tmp, 'root-max-a'), 'run', '--rm', `${reg.domain}/max:r`, 'cat', '/copied'], { env });
      assert.equal(ran.code, 0, ran.err);
      assert.equal(ran.out, 'bar\n');
      const check = await runCli(['--root', path.join(tmp, 'root-max-a'), 'system', 'check'], { env });
      assert.equal(check.code, 0, check.out + check.err);
    } finally {
      await git.close();
    }
  });

  it('a git context is the configSource (its URL and commit) and a resolved dependency', async () => {
    const repo = await makeGitRepo({ Dockerfile: `FROM ${reg.domain}/base:1\nCOPY g.txt /g.txt\n`, 'g.txt': 'g\n' });
    const commit = repo.git('rev-parse', 'HEAD');
    const git: Served = await serveGitHttp(repo);
    try {
      const url = `${git.url('repo.git')}#main`;
      const r = await runCli(['--root', path.join(tmp, 'root-gitctx'), 'build', '--progress', 'plain', '--provenance=true', '--push', '-t', `${reg.domain}/gitctx:1`, url], { env });
      assert.equal(r.code, 0, r.err + r.out);
      const def = (await pushedProvenance('gitctx', '1')).statement.predicate.buildDefinition;
      assert.deepEqual(def.externalParameters.configSource, { uri: url, digest: { sha1: commit }, path: 'Dockerfile' });
      assert.equal(def.externalParameters.request.locals, undefined, 'no local context');
      assert.ok(def.resolvedDependencies.some((d: { uri: string; digest: Record<string, string> }) => d.uri === url && d.digest.sha1 === commit), JSON.stringify(def.resolvedDependencies));
    } finally {
      await git.close();
    }
  });

  it('--attest type=provenance,version=v0.2 writes the SLSA v0.2 predicate; --output type=oci holds the attestation', async () => {
    const root = path.join(tmp, 'root-v02');
    const dir = await ctx(`FROM ${reg.domain}/base:1\nCOPY a.txt /a.txt\n`, { 'a.txt': 'a\n' });
    const layout = path.join(tmp, 'layout-v02');
    const r = await runCli(['--root', root, 'build', '--progress', 'plain', '--attest', 'type=provenance,version=v0.2,builder-id=https://ci.example/run/1', '-t', `${reg.domain}/v02:1`, '--push', '-o', `type=oci,dest=${layout},tar=false`, dir], { env });
    assert.equal(r.code, 0, r.err + r.out);
    const p = await pushedProvenance('v02', '1');
    assert.equal(p.statement.predicateType, 'https://slsa.dev/provenance/v0.2');
    const pred = p.statement.predicate;
    assert.equal(pred.buildType, 'https://mobyproject.org/buildkit@v1');
    assert.deepEqual(pred.builder, { id: 'https://ci.example/run/1' });
    assert.deepEqual(pred.materials, [{ uri: `pkg:docker/127.0.0.1%3A${reg.domain.split(':')[1]}/base@1?platform=linux%2F${arch}`, digest: { sha256: baseDigest.slice(7) } }]);
    assert.equal(pred.invocation.configSource.entryPoint, 'Dockerfile');
    assert.equal(pred.invocation.parameters.frontend, 'dockerfile.v0');
    assert.deepEqual(pred.metadata.completeness, { parameters: true, environment: true, materials: false });
    assert.ok(pred.buildConfig.llbDefinition.length >= 2);

    // The OCI layout: its index names an index of the image and its attestation (layers compressed, subject following).
    const top = JSON.parse(await readFile(path.join(layout, 'index.json'), 'utf8')) as Index;
    const inner = JSON.parse(await readFile(path.join(layout, 'blobs', 'sha256', top.manifests[0]!.digest.slice(7)), 'utf8')) as Index;
    const [img, att] = inner.manifests as [Descriptor, Descriptor];
    assert.equal(att.annotations?.['vnd.docker.reference.digest'], img.digest);
    const attM = JSON.parse(await readFile(path.join(layout, 'blobs', 'sha256', att.digest.slice(7)), 'utf8')) as Manifest;
    const st = JSON.parse(await readFile(path.join(layout, 'blobs', 'sha256', attM.layers[0]!.digest.slice(7)), 'utf8')) as Statement;
    assert.equal(st.subject[0]!.digest.sha256, img.digest.slice(7));
    const imgM = JSON.parse(await readFile(path.join(layout, 'blobs', 'sha256', img.digest.slice(7)), 'utf8')) as Manifest;
    assert.ok(imgM.layers.every((l) => l.mediaType.endsWith('+gzip')), JSON.stringify(imgM.layers));
    const refName = top.manifests[0]!.annotations?.['org.opencontainers.image.ref.name'];
    assert.ok(refName);
    assert.equal(JSON.parse(await run('skopeo', ['inspect', '--raw', `oci:${layout}:${refName}`])).manifests.length, 2);
  });

  it('a multi-platform --push has one attestation per platform, each naming its image', { skip: multiArchSkipReason() }, async () => {
    await run('skopeo', ['copy', '--all', '--dest-tls-verify=false', `oci:${await ensureMultiArchBaseImage()}:latest`, `docker://${reg.domain}/busybox:multi`]);
    const root = path.join(tmp, 'root-multi');
    const dir = await ctx(`FROM ${reg.domain}/busybox:multi\nCOPY a.txt /a.txt\n`, { 'a.txt': 'a\n' });
    const r = await runCli(['--root', root, 'build', '--progress', 'plain', '--platform', 'linux/amd64,linux/arm64', '--push', '-t', `${reg.domain}/multi:1`, dir], { env });
    assert.equal(r.code, 0, r.err + r.out);
    const index = (await raw(`${reg.domain}/multi:1`)) as Index;
    assert.deepEqual(index.manifests.map((m) => `${m.platform?.os}/${m.platform?.architecture}`), ['linux/amd64', 'linux/arm64', 'unknown/unknown', 'unknown/unknown']);
    for (const [i, a] of ['amd64', 'arm64'].entries()) {
      const att = index.manifests[i + 2]!;
      assert.equal(att.annotations?.['vnd.docker.reference.digest'], index.manifests[i]!.digest);
      const m = (await raw(`${reg.domain}/multi@${att.digest}`)) as Manifest;
      const st = JSON.parse((await blob('multi', m.layers[0]!.digest)).toString()) as Statement;
      assert.equal(st.subject[0]!.name, `pkg:docker/127.0.0.1%3A${reg.domain.split(':')[1]}/multi@1?platform=linux%2F${a}`);
      assert.equal(st.subject[0]!.digest.sha256, index.manifests[i]!.digest.slice(7));
      assert.match(st.predicate.buildDefinition.resolvedDependencies[0].uri, new RegExp(`/busybox@multi\\?platform=linux%2F${a}$`));
    }
  });

  it('refuses SBOMs, unknown attestation types and outputs that cannot hold a provenance, naming the flag', async () => {
    const dir = await ctx(`FROM ${reg.domain}/base:1\n`);
    const root = path.join(tmp, 'root-refuse');
    const cases: [string[], RegExp][] = [
      [['--sbom=true'], /--sbom: SBOM attestations are not supported by mybuild/],
      [['--attest', 'type=sbom'], /--attest type=sbom: SBOM attestations are not supported/],
      [['--attest', 'type=foo'], /unknown attestation type "foo"/],
      [['--provenance=mode=mid'], /--provenance: invalid mode "mid"/],
      [['--attest', 'type=provenance,capture-usage=true'], /provenance attribute "capture-usage" is not supported/],
      [['--provenance=true', '-o', `type=docker,dest=${tmp}/x.tar`], /--provenance with --output type=docker is not supported/],
      [['--provenance=true', '-o', `type=local,dest=${tmp}/x`], /--provenance with --output type=local is not supported/],
      [['--provenance=true', '--format', 'docker'], /cannot export attestations with "oci-mediatypes=false"/],
    ];
    for (const [args, re] of cases) {
      const r = await runCli(['--root', root, 'build', ...args, dir], { env });
      assert.notEqual(r.code, 0, args.join(' '));
      assert.match(r.err, re, args.join(' '));
      assert.doesNotMatch(r.err, /\n\s+at /, 'no stack trace');
    }
    // Disabled ones are accepted.
    const ok = await runCli(['--root', root, 'build', '--sbom=false', '--attest', 'type=sbom,disabled=true', dir], { env });
    assert.equal(ok.code, 0, ok.err);
  });
});

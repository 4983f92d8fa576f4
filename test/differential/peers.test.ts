/**
 * Differential tests: every case in ../shared/peers/cases/* (read at run time) and in
 * fixtures/differential/* is built with mybuild, with BuildKit (docker 20.10's, in the peers'
 * private dockerd) and with Buildah 1.28, and each peer's image is compared with mybuild's by
 * ../shared/peers/compare-images.sh (rootfs, config fields, layer count).
 *
 * BuildKit is the reference: any difference fails, unless it is listed below with its reason
 * (docs/differences.md explains each). A listed `peer` difference is a documented difference
 * between the peers; a listed `todo` difference is a known mybuild bug owned elsewhere, and the
 * test is then marked TODO. Unlisted difference lines always fail.
 *
 * Peer images are built once per run and kept in `${TMPDIR}/mybuild-differential/<tool>/<case>-<hash>`
 * (hash of the case's files and the peer scripts), so a re-run only rebuilds changed cases;
 * DIFF_REBUILD_PEERS=1 rebuilds them all. Needs root, runc, umoci and the peers (setup.sh):
 * skips with the reason otherwise.
 */
import { after, before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fixturesDir, sharedPath } from '../helpers/paths.js';
import { runCli } from '../helpers/cli.js';

const PEERS = sharedPath('peers');
const BASE_REF = '127.0.0.1:5000/library/busybox:latest';
const BUSYBOX_OCI = process.env.BUSYBOX_OCI ?? '/var/lib/peers/busybox-oci';
const TOOLS = ['buildkit', 'buildah'] as const;
type Tool = (typeof TOOLS)[number];

/** One allowed difference line of compare-images.sh (`-`: mybuild only, `+`: peer only). */
interface Allowed {
  re: RegExp;
  kind: 'peer' | 'todo';
  why: string;
}

const WORKDIR_LAYERS = 'Buildah commits no layer for WORKDIR (BuildKit does, even an empty one for an existing directory)';
const WORKDIR_UNUSED = 'Buildah never creates a WORKDIR directory that no RUN uses';

const CHMOD_CREATED_DIRS: Allowed = {
  re: /^[-+](shared|restricted) d 0(640|700|755) /,
  kind: 'peer',
  why: "docker 20.10's BuildKit and Buildah 1.28 create a COPY's missing destination directories 0755; current BuildKit (fsutil since 2025, testCopyChmod) gives them the octal --chmod mode, as mybuild does (K1)",
};

const CHOWN_ARCHIVE: Allowed = {
  re: /^[-+]chowned\/\S+ [a-z-] \d{4} \d+:\d+ /,
  kind: 'peer',
  why: "docker 20.10's BuildKit and Buildah 1.28 keep an archive's owners under ADD --chown; current BuildKit (since 2025, testDockerfileAddChownArchive) owns every extracted entry by --chown, as mybuild does (K2)",
};

/** Known differences per case and peer (see docs/differences.md). */
const KNOWN: Record<string, Partial<Record<Tool, Allowed[]>>> = {
  '06-copy-chmod': { buildkit: [CHMOD_CREATED_DIRS], buildah: [CHMOD_CREATED_DIRS] },
  '02-env-arg': { buildah: [{ re: /^DIFF count: A=5 B=4$/, kind: 'peer', why: WORKDIR_LAYERS }] },
  '03-workdir-user': { buildah: [{ re: /^DIFF count: A=10 B=6$/, kind: 'peer', why: WORKDIR_LAYERS }] },
  '09-metadata': {
    buildah: [
      { re: /^DIFF count: A=2 B=1$/, kind: 'peer', why: WORKDIR_LAYERS },
      { re: /^-data d 0755 65534:65534 $/, kind: 'peer', why: WORKDIR_UNUSED },
    ],
  },
  'expand-metadata': {
    buildah: [
      { re: /^DIFF count: A=4 B=3$/, kind: 'peer', why: WORKDIR_LAYERS },
      { re: /^-app\/work d 0755 0:0 $/, kind: 'peer', why: WORKDIR_UNUSED },
    ],
  },
  'workdir-user': {
    buildah: [
      { re: /^DIFF count: A=10 B=4$/, kind: 'peer', why: WORKDIR_LAYERS },
      { re: /^-(opt|opt\/base|opt\/base\/x|w1) d 0755 0:0 $/, kind: 'peer', why: WORKDIR_UNUSED },
      { re: /^-w2(\/deep)? d 0755 65534:65534 $|^-w2\/deep\/rel d 0755 1234:5678 $|^\+w2(\/deep|\/deep\/rel)? d 0755 0:0 $/, kind: 'peer', why: 'Buildah creates the WORKDIR parents of a COPY destination as root, not as the USER of the WORKDIR' },
    ],
  },
  'add-archive': {
    buildkit: [CHOWN_ARCHIVE],
    buildah: [
      CHOWN_ARCHIVE,
      { re: /^[-+](chowned|disguised|etc|new-no-slash|multi|extracted) d /, kind: 'peer', why: 'Buildah gives the ADD destination directory the metadata of the archive\'s `./` entry (even for an existing /etc); BuildKit keeps it' },
      { re: /^[-+]chowned\/implicit(\/parent)? d 0755 /, kind: 'peer', why: 'Buildah applies ADD --chown to directories implied by archive paths; BuildKit keeps them root' },
    ],
  },
};

/** Cases the peers cannot build at all (the test checks mybuild builds them and says why). */
const PEER_UNSUPPORTED: Record<string, string> = {
  '08-heredoc': 'heredocs need Dockerfile frontend 1.4; buildah 1.28 and dockerd 20.10 fail "unknown instruction"',
};

interface Case {
  name: string;
  dir: string;
}

function listCases(): Case[] {
  const out: Case[] = [];
  if (!PEERS.skip) {
    const dir = path.join(PEERS.path, 'cases');
    for (const n of readdirSync(dir).sort()) if (existsSync(path.join(dir, n, 'Dockerfile'))) out.push({ name: n, dir: path.join(dir, n) });
  }
  const mine = path.join(fixturesDir, 'differential');
  for (const n of readdirSync(mine).sort()) if (existsSync(path.join(mine, n, 'Dockerfile'))) out.push({ name: n, dir: path.join(mine, n) });
  return out;
}

function sh(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}, timeout = 240_000): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { env: { ...process.env, ...env }, timeout, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 125) : 0;
      resolve({ code, out: `${stdout}${stderr}` });
    });
  });
}

function onPath(tool: string): boolean {
  return (process.env.PATH ?? '').split(path.delimiter).some((d) => d && existsSync(path.join(d, tool)));
}

async function skipReason(): Promise<string | false> {
  if (PEERS.skip) return PEERS.skip;
  if (process.getuid?.() !== 0) return 'the differential tests need root (runc, overlay mounts, the peers)';
  for (const t of ['umoci', 'runc', 'jq', 'python3']) if (!onPath(t)) return `${t} is not on PATH (scripts/install-system-deps.sh)`;
  if (!existsSync(path.join(BUSYBOX_OCI, 'index.json'))) return `${BUSYBOX_OCI} is absent: run ${PEERS.path}/setup.sh`;
  try {
    const res = await fetch('http://127.0.0.1:5000/v2/', { signal: AbortSignal.timeout(3000) });
    if (!res.ok) return `the peers' registry on 127.0.0.1:5000 answered ${res.status}: run ${PEERS.path}/setup.sh`;
  } catch {
    return `the peers' registry on 127.0.0.1:5000 is not running: run ${PEERS.path}/setup.sh`;
  }
  return false;
}

function toolSkip(tool: Tool): string | false {
  if (tool === 'buildah' && !onPath('buildah')) return 'buildah is not installed (peers/setup.sh)';
  if (tool === 'buildkit' && !existsSync('/usr/bin/docker')) return '/usr/bin/docker (20.10) is not installed (peers/setup.sh)';
  return false;
}

/** A digest of a case's files (names, types, modes, link targets, bytes) and the peer scripts. */
async function caseHash(c: Case): Promise<string> {
  const h = createHash('sha256');
  const walk = async (rel: string): Promise<void> => {
    for (const n of (await readdir(path.join(c.dir, rel))).sort()) {
      const r = rel ? `${rel}/${n}` : n;
      const p = path.join(c.dir, r);
      const st = await lstat(p);
      h.update(`${r}\0${st.mode}\0`);
      if (st.isSymbolicLink()) h.update(await readlink(p));
      else if (st.isFile()) h.update(await readFile(p));
      else if (st.isDirectory()) await walk(r);
      h.update('\0');
    }
  };
  await walk('');
  for (const s of ['build-docker.sh', 'build-buildah.sh', 'to-oci.sh']) h.update(await readFile(path.join(PEERS.path, s)));
  return h.digest('hex').slice(0, 16);
}

/** Builds `c` with `tool` (or reuses this content's earlier output); returns the layout or the failure log. */
async function peerBuild(tool: Tool, c: Case): Promise<{ out: string } | { error: string }> {
  const dir = path.join(process.env.TMPDIR || os.tmpdir(), 'mybuild-differential', tool);
  const out = path.join(dir, `${c.name}-${await caseHash(c)}`);
  if (process.env.DIFF_REBUILD_PEERS !== '1' && existsSync(path.join(out, 'index.json'))) return { out };
  await mkdir(dir, { recursive: true });
  await rm(out, { recursive: true, force: true });
  const script = path.join(PEERS.path, tool === 'buildah' ? 'build-buildah.sh' : 'build-docker.sh');
  const r = await sh(script, [path.join(c.dir, 'Dockerfile'), c.dir, out], { QUIET: '1', BUILDER: 'buildkit' });
  if (r.code !== 0) return { error: `${tool} failed (exit ${r.code}): ${r.out.trim().split('\n').slice(-5).join(' | ')}` };
  return { out };
}

/** The difference lines of a compare-images.sh report, without their indentation. */
function diffLines(report: string): string[] {
  return report
    .split('\n')
    .filter((l) => /^ {2}[-+]/.test(l) || /^ {2}DIFF /.test(l))
    .map((l) => l.slice(2));
}

const cases = listCases();
const skip = await skipReason();

describe('differential: mybuild vs BuildKit and Buildah', { skip, concurrency: 1 }, () => {
  let root = '';
  let work = '';
  const peerOut = new Map<string, Promise<{ out: string } | { error: string }>>();

  before(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'mybuild-diff-'));
    root = path.join(work, 'root');
    const load = await runCli(['--root', root, 'load', '-i', BUSYBOX_OCI]);
    assert.equal(load.code, 0, load.err);
    const name = /Loaded image: (\S+)/.exec(load.out)?.[1];
    assert.ok(name, `load printed no image name: ${load.out}`);
    const tag = await runCli(['--root', root, 'tag', name, BASE_REF]);
    assert.equal(tag.code, 0, tag.err);
  });
  after(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  for (const c of cases) {
    describe(c.name, () => {
      let mine = '';
      let buildLog = '';
      before(async () => {
        // Start this case's peer builds while mybuild builds (different tools, no shared state).
        for (const tool of TOOLS) {
          if (!toolSkip(tool) && !PEER_UNSUPPORTED[c.name] && !peerOut.has(`${tool}/${c.name}`)) peerOut.set(`${tool}/${c.name}`, peerBuild(tool, c));
        }
        mine = path.join(work, 'out', c.name);
        const r = await runCli(['--root', root, 'build', '--progress', 'plain', '-f', path.join(c.dir, 'Dockerfile'), '-o', `type=oci,dest=${mine},tar=false`, c.dir]);
        buildLog = r.err + r.out;
        if (r.code !== 0) mine = '';
      });

      it('builds with mybuild', () => {
        assert.ok(mine, `mybuild build failed:\n${buildLog}`);
        assert.ok(existsSync(path.join(mine, 'index.json')));
      });

      for (const tool of TOOLS) {
        const why = toolSkip(tool) || (PEER_UNSUPPORTED[c.name] ? `${tool} cannot build it: ${PEER_UNSUPPORTED[c.name]}` : false);
        it(`same as ${tool}`, { skip: why }, async (t: TestContext) => {
          assert.ok(mine, 'mybuild did not build this case');
          const peer = await peerOut.get(`${tool}/${c.name}`)!;
          if ('error' in peer) assert.fail(`the peer could not build the case: ${peer.error}`);
          const cmp = await sh(path.join(PEERS.path, 'compare-images.sh'), [mine, peer.out]);
          assert.ok(cmp.code === 0 || cmp.code === 1, `compare-images.sh failed (exit ${cmp.code}):\n${cmp.out}`);
          const allowed = KNOWN[c.name]?.[tool] ?? [];
          const lines = diffLines(cmp.out);
          if (cmp.code === 1) assert.ok(lines.length > 0, `compare-images.sh says DIFFERENT but printed no difference line:\n${cmp.out}`);
          const unexplained = lines.filter((l) => !allowed.some((a) => a.re.test(l)));
          assert.deepEqual(unexplained, [], `unexplained differences from ${tool} (A = mybuild, B = ${tool}):\n${cmp.out}`);
          const todos = [...new Set(lines.flatMap((l) => allowed.filter((a) => a.kind === 'todo' && a.re.test(l)).map((a) => a.why)))];
          for (const l of lines) t.diagnostic(`known: ${l}`);
          if (todos.length) t.todo(todos.join('; '));
        });
      }
    });
  }
});

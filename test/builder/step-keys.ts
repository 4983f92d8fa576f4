/**
 * Computes the cache keys a Dockerfile's steps get, through the builder's own code (plan,
 * baseState, dispatch, the handlers, stepKey), without root, runc or a base image: layers are
 * never produced, and each filesystem step's key becomes the next step's parent, as a build
 * does (src/builder/step.ts). Images and `--from` filesystems are given by the test.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { baseState } from '../../src/builder/base.js';
import { dispatch } from '../../src/builder/dispatch.js';
import type { LayerStep, SourceFs } from '../../src/builder/instructions/handler.js';
import type { Worker } from '../../src/builder/worker.js';
import type { BuildRequest, StepSession } from '../../src/builder/session.js';
import { stepKey } from '../../src/builder/step.js';
import type { StageState } from '../../src/builder/state.js';
import { BuildContext } from '../../src/context/context.js';
import { StatCache } from '../../src/context/hash.js';
import type { ImageConfig, Platform } from '../../src/oci/types.js';
import { parseDockerfile } from '../../src/parser/index.js';
import { buildPlan, ShellLex, type FromSource } from '../../src/plan/index.js';
import { fakeWorker } from './fake-worker.js';

export interface StepKeysInput {
  dockerfile: string;
  /** Context files (path → content). */
  files?: Record<string, string>;
  buildArgs?: Record<string, string>;
  platform?: Platform;
  /** Images by reference: their manifest digest (the cache identity) and config. */
  images?: Record<string, { digest: string; config?: Partial<ImageConfig['config']> }>;
  /** Build options (network, …) over the defaults. */
  options?: Partial<BuildRequest>;
  /** The worker (default: one without snapshots, see fake-worker.ts) and the store root it uses. */
  worker?: Worker;
  root?: string;
}

export interface StepKey {
  kind: string;
  digest: string;
  parts: string[];
  /** The step as its handler returned it (produce() makes the layer). */
  step: LayerStep;
}

const amd64: Platform = { os: 'linux', architecture: 'amd64' };

function imageConfig(platform: Platform, config: Partial<ImageConfig['config']> = {}): ImageConfig {
  return { architecture: platform.architecture, os: platform.os, config: { ...config }, rootfs: { type: 'layers', diff_ids: [] } } as ImageConfig;
}

/**
 * The keys of the target stage's filesystem steps, in order. Throws what the build would. With
 * `root`, works there and leaves it; else in a temporary directory removed afterwards.
 */
export async function stepKeys(input: StepKeysInput): Promise<StepKey[]> {
  return (await targetStage(input)).keys;
}

/** The target stage's steps' keys and its final config (metadata steps applied, no layer produced). */
export async function targetStage(input: StepKeysInput): Promise<{ keys: StepKey[]; config: ImageConfig }> {
  if (input.root) return runTarget(input.root, input);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mybuild-keys-'));
  try {
    return await runTarget(dir, input);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function runTarget(dir: string, input: StepKeysInput): Promise<{ keys: StepKey[]; config: ImageConfig }> {
  const contextDir = path.join(dir, 'context');
  await mkdir(contextDir, { recursive: true });
  await mkdir(path.join(dir, 'tmp'), { recursive: true }); // as build() makes it
  for (const [p, data] of Object.entries(input.files ?? {})) {
    await mkdir(path.dirname(path.join(contextDir, p)), { recursive: true });
    await writeFile(path.join(contextDir, p), data);
  }
  const platform = input.platform ?? amd64;
  const { ast } = parseDockerfile(input.dockerfile, { file: 'Dockerfile' });
  const plan = buildPlan(ast, { buildArgs: input.buildArgs ?? {}, platform, buildPlatform: amd64, text: input.dockerfile });
  const options = {
    root: dir, contextDir, tags: [], buildArgs: input.buildArgs ?? {}, noCache: false, pull: false, labels: {}, outputs: [], push: false,
    network: 'default', secrets: [], format: 'oci', compression: 'gzip', allow: [], explain: false, ...input.options,
  } as BuildRequest;
  let contextP: Promise<BuildContext> | undefined;
  const session: StepSession = {
    lex: new ShellLex(ast.escapeToken),
    emit: () => {},
    signal: new AbortController().signal,
    sourceDateEpoch: undefined,
    source: (range) => ({ file: 'Dockerfile', range, text: input.dockerfile }),
    context: () => (contextP ??= BuildContext.open(contextDir)),
    statCache: async () => StatCache.open(path.join(dir, 'context-cache'), (await session.context()).root),
    sshAgent: async () => undefined,
  };
  const worker = input.worker ?? fakeWorker();
  const image = async (ref: string): Promise<SourceFs> => {
    const img = input.images?.[ref];
    if (!img) throw new Error(`test: no image ${ref}`);
    return { fsKey: img.digest, layers: [], config: imageConfig(platform, img.config) };
  };
  const states = new Map<number, Promise<{ state: StageState; keys: StepKey[] }>>();
  const runStage = (index: number): Promise<{ state: StageState; keys: StepKey[] }> => {
    let p = states.get(index);
    if (!p) {
      p = (async () => {
        const stage = plan.stages[index]!;
        const state = await baseState(stage, {
          platform, lex: session.lex, globalArgs: plan.globalArgs, buildArgs: options.buildArgs, file: 'Dockerfile', text: input.dockerfile,
          image, stageState: async (i) => (await runStage(i)).state,
        });
        // As build.ts: the plan's resolution (the harness has no ONBUILD triggers).
        const from = async (name: string, planned: FromSource | undefined): Promise<SourceFs> => {
          if (!planned) throw new Error(`test: --from=${name} was not resolved by the plan`);
          if (planned.kind === 'image') return image(planned.ref);
          const { state: st } = await runStage(planned.index);
          return { fsKey: st.fsKey, layers: st.layers, config: st.config };
        };
        const keys: StepKey[] = [];
        for (const cmd of stage.commands) {
          const info = { step: keys.length + 1, stage: state.name, index: 0, total: 0, instruction: cmd.node.original, range: cmd.node.range };
          const step = await dispatch({ stage: state, info, from, worker, options, session }, cmd);
          if (!step) continue;
          const key = stepKey(state.fsKey, step.parts);
          keys.push({ kind: cmd.kind, digest: key.digest, parts: key.parts, step });
          state.fsKey = key.digest;
        }
        return { state, keys };
      })();
      states.set(index, p);
    }
    return p;
  };
  const { keys, state } = await runStage(plan.target);
  return { keys, config: state.config };
}

/** The key of the last filesystem step. */
export async function lastKey(input: StepKeysInput): Promise<StepKey> {
  const keys = await stepKeys(input);
  if (!keys.length) throw new Error('test: no filesystem step');
  return keys[keys.length - 1]!;
}

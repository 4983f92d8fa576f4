/**
 * `mybuild run [OPTIONS] IMAGE [COMMAND] [ARG…]`: creates a container from IMAGE (pulled first
 * when it is not in the store, like `docker run`) and runs it in the foreground, as a child of
 * this process. The exit code is the container's; SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and
 * SIGUSR2 received by mybuild are forwarded to the container. Options stop at IMAGE: what
 * follows is the command.
 */
import type { Writable } from 'node:stream';
import { BuildError, isNotFound, toBuildError, UsageError } from '../../errors.js';
import { parseReference } from '../../image/reference.js';
import type { CreateOptions } from '../../containers/manager.js';
import { parseEnvFlags, parseNetworkFlag, parsePublish, parseVolume } from '../../containers/options.js';
import type { Engine } from '../../engine/engine.js';
import type { TerminalSource } from '../../runtime/spec.js';
import type { CliContext, CommandMain } from '../context.js';
import { flagNeedsArgument, unknownFlag } from '../args.js';
import { engineFor } from '../engine.js';
import { HELP_FLAG, printHelp, type CommandHelp, type FlagSpec, type Flags } from '../help.js';

export const RUN_FLAGS = {
  detach: { type: 'boolean', short: 'd', description: 'Run container in background and print container ID (through a daemon, -H)' },
  entrypoint: { type: 'string', description: 'Overwrite the default ENTRYPOINT of the image' },
  env: { type: 'string', short: 'e', multiple: true, description: 'Set environment variables (KEY=value, or KEY to take it from here)' },
  interactive: { type: 'boolean', short: 'i', description: 'Keep STDIN open even if not attached' },
  name: { type: 'string', description: 'Assign a name to the container' },
  network: { type: 'string', aliases: ['net'], description: 'Connect a container to a network: default (its own namespace, reaching the outside through slirp4netns), none (only loopback) or host' },
  publish: { type: 'string', short: 'p', multiple: true, description: 'Publish a port: [HOST_IP:]HOST_PORT:CONTAINER_PORT[/tcp|udp]' },
  platform: { type: 'string', description: 'Platform of the image to run (its entry of an index; foreign ones under binfmt_misc emulation), pulled if missing' },
  rm: { type: 'boolean', description: 'Automatically remove the container and its associated anonymous volumes when it exits' },
  tty: { type: 'boolean', short: 't', description: 'Allocate a pseudo-TTY' },
  user: { type: 'string', short: 'u', description: 'Username or UID (format: <name|uid>[:<group|gid>])' },
  volume: { type: 'string', short: 'v', multiple: true, description: 'Bind mount a volume (a host path: /host/path:/container/path[:ro|rw])' },
  workdir: { type: 'string', short: 'w', description: 'Working directory inside the container' },
  help: HELP_FLAG,
} as const satisfies Flags;

export const HELP: CommandHelp = {
  name: 'mybuild run',
  usage: '[OPTIONS] IMAGE [COMMAND] [ARG...]',
  summary: 'Create and run a new container from an image',
  aliases: ['mybuild container run'],
  flags: RUN_FLAGS,
};

/** Parsed `run` arguments. */
export interface RunArgs {
  create: Omit<CreateOptions, 'image'> & { env: string[] };
  image: string;
  detach: boolean;
  platform?: string;
  help: boolean;
}

/** `--name`/`-n` (and aliases) → flag name, for the value flags and the boolean ones of RUN_FLAGS. */
function spellings(type: 'string' | 'boolean'): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, f] of Object.entries(RUN_FLAGS) as Array<[string, FlagSpec]>) {
    if (f.type !== type) continue;
    for (const n of [name, ...(f.aliases ?? [])]) out[`--${n}`] = name;
    if (f.short) out[`-${f.short}`] = name;
  }
  return out;
}
const VALUE_FLAGS = spellings('string');
const BOOL_FLAGS = spellings('boolean');

/**
 * Parses `run`'s arguments: flags (`--flag value`, `--flag=value`, `-eK=V`, grouped booleans
 * like `-it`) up to the image, then the command. Throws UsageError for unknown flags, missing
 * values or a missing image; BuildError INVALID_ARGUMENT for a bad `-v`, `-e` or `--network`.
 */
export function parseRunArgs(args: string[], hostEnv: NodeJS.ProcessEnv): RunArgs {
  const values: Record<string, string[]> = {};
  const bools = new Set<string>();
  let i = 0;
  const put = (key: string, v: string): void => {
    (values[key] ??= []).push(v);
  };
  for (; i < args.length; i++) {
    const a = args[i];
    if (a === '--') {
      i++;
      break;
    }
    if (!a.startsWith('-') || a === '-') break;
    const eq = a.indexOf('=');
    const flag = a.startsWith('--') && eq > 0 ? a.slice(0, eq) : a;
    if (flag in VALUE_FLAGS) {
      if (a.startsWith('--') && eq > 0) put(VALUE_FLAGS[flag], a.slice(eq + 1));
      else {
        const v = args[++i];
        if (v === undefined) throw flagNeedsArgument('run', flag);
        put(VALUE_FLAGS[flag], v);
      }
      continue;
    }
    if (flag in BOOL_FLAGS && eq < 0) {
      bools.add(BOOL_FLAGS[flag]);
      continue;
    }
    if (!a.startsWith('--') && a.length > 2) {
      // -it, -e K=V glued (-eK=V), -wDIR
      const short = `-${a[1]}`;
      if (short in VALUE_FLAGS) {
        put(VALUE_FLAGS[short], a.slice(2));
        continue;
      }
      const letters = a.slice(1).split('');
      if (letters.every((l) => `-${l}` in BOOL_FLAGS)) {
        for (const l of letters) bools.add(BOOL_FLAGS[`-${l}`]);
        continue;
      }
    }
    throw unknownFlag('run', flag, [...Object.keys(VALUE_FLAGS), ...Object.keys(BOOL_FLAGS)], a);
  }
  const help = bools.has('help');
  const image = args[i];
  if (image === undefined && !help) throw new UsageError('"mybuild run" requires at least 1 argument', { hint: 'usage: mybuild run [OPTIONS] IMAGE [COMMAND] [ARG...]' });
  const last = (k: string): string | undefined => values[k]?.[values[k].length - 1];
  const networkFlag = last('network');
  const network = networkFlag !== undefined ? parseNetworkFlag(networkFlag) : undefined;
  const publish = (values.publish ?? []).map(parsePublish);
  const entrypoint = last('entrypoint');
  return {
    image: image ?? '',
    help,
    detach: bools.has('detach'),
    platform: last('platform'),
    create: {
      name: last('name'),
      cmd: args.slice(i + 1),
      ...(entrypoint !== undefined ? { entrypoint: entrypoint === '' ? [] : [entrypoint] } : {}),
      env: parseEnvFlags(values.env ?? [], hostEnv),
      workdir: last('workdir'),
      user: last('user'),
      tty: bools.has('tty'),
      openStdin: bools.has('interactive'),
      network,
      ...(publish.length > 0 ? { publish } : {}),
      volumes: (values.volume ?? []).map(parseVolume),
      autoRemove: bools.has('rm'),
    },
  };
}

const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

/** Resolves `image` in the engine's store, pulling it (with Docker's messages on stderr) when missing. */
async function ensureImage(engine: Engine, image: string, platform: string | undefined, ctx: CliContext): Promise<void> {
  try {
    await engine.images.inspect(image);
    return;
  } catch (err) {
    if (!isNotFound(err)) throw err;
    if (/^(sha256:)?[0-9a-f]{12,64}$/.test(image)) throw err; // an image ID: nothing to pull
  }
  let ref;
  try {
    ref = parseReference(image);
  } catch (err) {
    throw new BuildError('INVALID_ARGUMENT', `invalid reference format: ${image}`, { cause: err, hint: 'name an image as NAME[:TAG|@DIGEST] or by its ID' });
  }
  ctx.stderr.write(`Unable to find image '${ref.familiar()}' locally\n`);
  await engine.images.pull(ref, { platform });
  ctx.stderr.write(`Status: Downloaded newer image for ${ref.familiar()}\n`);
}

/**
 * docker run's exit codes: the container's own, or 125 when `run` itself fails (a flag, the
 * image, the pull, the engine), 126 when the command cannot be invoked, 127 when it is not
 * found (docs/run.md).
 */
export const RUN_FAILED = 125;
export const CANNOT_INVOKE = 126;
export const NOT_FOUND = 127;

export const main: CommandMain = async (args, ctx) => {
  try {
    return await runContainer(args, ctx);
  } catch (err) {
    const e = toBuildError(err);
    if (e.code === 'INTERNAL') throw err;
    ctx.stderr.write(`error: ${e.format()}\n`);
    return RUN_FAILED;
  }
};

/** The size of the terminal on `out` (rows × columns) and its resizes (Node's 'resize' event on SIGWINCH); none when `out` is not a terminal. */
function terminalOf(out: NodeJS.WritableStream): TerminalSource | undefined {
  const tty = out as NodeJS.WriteStream;
  if (tty.isTTY !== true) return undefined;
  return {
    size: () => (tty.rows > 0 && tty.columns > 0 ? { rows: tty.rows, cols: tty.columns } : undefined),
    onResize: (listener) => {
      tty.on('resize', listener);
      return () => void tty.off('resize', listener);
    },
  };
}

/** The runtime's error for a process that could not start → 126 or 127, as docker maps it. */
export function startFailureCode(message: string): number {
  if (/executable file not found|no such file or directory/i.test(message)) return NOT_FOUND;
  if (/permission denied|exec format error|is a directory|not executable/i.test(message)) return CANNOT_INVOKE;
  return RUN_FAILED;
}

async function runContainer(args: string[], ctx: CliContext): Promise<number> {
  const parsed = parseRunArgs(args, ctx.env);
  if (parsed.help) return printHelp(ctx, HELP);
  // docker's CheckTty: -i with -t needs a terminal on stdin (a pipe would be echoed back by the
  // container's terminal, and through -H the attach never ends); exit 1 as docker's CLI.
  if (parsed.create.tty && parsed.create.openStdin && (ctx.stdin as NodeJS.ReadStream).isTTY !== true) {
    ctx.stderr.write('error: the input device is not a TTY\n');
    return 1;
  }
  const engine = engineFor(ctx);
  if (parsed.detach && !engine.detaches) {
    throw new UsageError('run: -d/--detach needs the daemon (mybuild -H …): daemonless, the container is a child of this process', {
      hint: 'run it in the foreground, or in the background with your shell (mybuild run … &)',
    });
  }
  await ensureImage(engine, parsed.image, parsed.platform, ctx);
  // -t: the terminal's size at create (HostConfig.ConsoleSize through -H, as docker's CLI).
  const terminal = parsed.create.tty ? terminalOf(ctx.stdout) : undefined;
  const size = terminal?.size();
  const settings = size ? { settings: { ...parsed.create.settings, consoleSize: [size.rows, size.cols] as [number, number] } } : {};
  const id = await engine.containers.create({ ...parsed.create, ...settings, image: parsed.image, ...(parsed.platform !== undefined ? { platform: parsed.platform } : {}) });
  if (parsed.detach) {
    await engine.containers.start(id);
    ctx.stdout.write(`${id}\n`);
    return 0;
  }

  const handlers = new Map<NodeJS.Signals, () => void>();
  for (const sig of FORWARDED) {
    const h = (): void => void engine.containers.kill(id, sig.slice(3)).catch(() => undefined);
    handlers.set(sig, h);
    process.on(sig, h);
  }
  const stdin = ctx.stdin as NodeJS.ReadStream;
  const raw = parsed.create.tty && parsed.create.openStdin && stdin.isTTY === true && typeof stdin.setRawMode === 'function';
  if (raw) stdin.setRawMode(true);
  try {
    return await engine.containers.run(id, {
      tty: parsed.create.tty === true,
      openStdin: parsed.create.openStdin === true,
      autoRemove: parsed.create.autoRemove === true,
      stdin: ctx.stdin,
      stdout: ctx.stdout as NodeJS.WritableStream & Writable,
      stderr: ctx.stderr as NodeJS.WritableStream & Writable,
      ...(terminal ? { terminal } : {}),
    });
  } catch (err) {
    const e = toBuildError(err);
    if (e.code !== 'RUNTIME') throw err;
    // The runtime could not start the process: print the error, exit with Docker's 125/126/127.
    ctx.stderr.write(`error: ${e.format()}\n`);
    const st = await engine.containers.inspect(id).then((x) => x.exitCode, () => undefined);
    return st ?? startFailureCode(e.message);
  } finally {
    for (const [sig, h] of handlers) process.off(sig, h);
    if (raw) stdin.setRawMode(false);
    if (parsed.create.openStdin) stdin.pause?.();
  }
}

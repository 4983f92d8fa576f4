/**
 * docker build's resource flags for RUN steps: `-m/--memory`, `--memory-swap`, `-c/--cpu-shares`,
 * `--cpu-period`, `--cpu-quota`, `--cpuset-cpus`, `--cpuset-mems`, parsed into BuildOptions'
 * `runResources` (runc's cgroup limits of every RUN, as BuildKit's dockerui frontend attributes
 * memory, memswap, cpushares, cpuperiod, cpuquota, cpuset-cpus, cpuset-mems do, with its checks).
 * Not part of a RUN's cache key (BuildKit keeps them in the op's metadata).
 */
import { UsageError } from '../errors.js';
import type { BuildOptions } from '../builder/options.js';
import type { ContainerResources } from '../runtime/spec.js';

export const RESOURCE_FLAGS = {
  memory: { type: 'string', short: 'm', arg: 'bytes', description: 'Memory limit of RUN steps' },
  'memory-swap': { type: 'string', arg: 'bytes', description: 'Swap limit equal to memory plus swap: -1 to enable unlimited swap' },
  'cpu-shares': { type: 'string', short: 'c', arg: 'int', description: 'CPU shares (relative weight) of RUN steps' },
  'cpu-period': { type: 'string', arg: 'int', description: 'Limit the CPU CFS (Completely Fair Scheduler) period of RUN steps' },
  'cpu-quota': { type: 'string', arg: 'int', description: 'Limit the CPU CFS (Completely Fair Scheduler) quota of RUN steps' },
  'cpuset-cpus': { type: 'string', arg: 'string', description: 'CPUs in which to allow RUN steps (0-3, 0,1)' },
  'cpuset-mems': { type: 'string', arg: 'string', description: 'MEMs in which to allow RUN steps (0-3, 0,1)' },
} as const;

type Values = { [K in keyof typeof RESOURCE_FLAGS]?: string };

/** go-units' RAMInBytes (docker's MemBytes): a number with an optional b, k, m, g, t, p suffix (powers of 1024). */
function ramBytes(flag: string, value: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([bkmgtp])?i?b?$/i.exec(value.trim());
  if (!m) throw new UsageError(`invalid ${flag} "${value}": expected a size such as 64m or 1g`);
  const pow = { b: 0, k: 1, m: 2, g: 3, t: 4, p: 5 }[(m[2] ?? 'b').toLowerCase() as 'b'];
  return Math.floor(Number(m[1]) * 1024 ** pow);
}

function positive(flag: string, value: string): number {
  if (!/^\d+$/.test(value) || Number(value) <= 0) throw new UsageError(`invalid ${flag} value: ${value}: must be > 0`);
  return Number(value);
}

/** A cpuset list: `0-3,5` (BuildKit's cpuset.Validate). */
function cpuset(flag: string, value: string): string {
  const ok = value.split(',').every((part) => {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    return m !== null && (m[2] === undefined || Number(m[2]) >= Number(m[1]));
  });
  if (!ok) throw new UsageError(`invalid ${flag} value: ${value}`, { hint: 'a list of CPU or memory node numbers and ranges, e.g. 0-3,5' });
  return value;
}

/** Applies the parsed RESOURCE_FLAGS to `o.runResources` (unset flags leave it undefined). */
export function applyResourceFlags(o: BuildOptions, v: Values): void {
  const r: ContainerResources = {};
  const memory: NonNullable<ContainerResources['memory']> = {};
  const cpu: NonNullable<ContainerResources['cpu']> = {};
  if (v.memory !== undefined) {
    memory.limit = ramBytes('--memory', v.memory);
    if (memory.limit <= 0) throw new UsageError(`invalid --memory value: ${v.memory}: must be > 0`);
  }
  if (v['memory-swap'] !== undefined) {
    const swap = v['memory-swap'].trim() === '-1' ? -1 : ramBytes('--memory-swap', v['memory-swap']);
    if (swap === 0) throw new UsageError(`invalid --memory-swap value: ${v['memory-swap']}: must be -1 (unlimited) or > 0`);
    // docker: the swap limit is memory plus swap, so it needs the memory limit and is not below it.
    if (memory.limit === undefined) throw new UsageError('--memory-swap needs --memory: it is the limit of memory plus swap', { hint: 'e.g. --memory 512m --memory-swap 1g, or --memory-swap -1 with --memory' });
    if (swap !== -1 && swap < memory.limit) throw new UsageError(`--memory-swap ${v['memory-swap']} is smaller than --memory ${v.memory}: it is the limit of memory plus swap`);
    memory.swap = swap;
  }
  if (v['cpu-shares'] !== undefined) cpu.shares = positive('--cpu-shares', v['cpu-shares']);
  if (v['cpu-period'] !== undefined) cpu.period = positive('--cpu-period', v['cpu-period']);
  if (v['cpu-quota'] !== undefined) cpu.quota = positive('--cpu-quota', v['cpu-quota']);
  if (v['cpuset-cpus'] !== undefined) cpu.cpus = cpuset('--cpuset-cpus', v['cpuset-cpus']);
  if (v['cpuset-mems'] !== undefined) cpu.mems = cpuset('--cpuset-mems', v['cpuset-mems']);
  if (Object.keys(memory).length) r.memory = memory;
  if (Object.keys(cpu).length) r.cpu = cpu;
  if (Object.keys(r).length) o.runResources = r;
}

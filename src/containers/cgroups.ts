/**
 * A daemon container's cgroups (v1, as runc makes them at `/mybuild/<id>` under each
 * controller; see settings.ts `cgroupsPath`): freeze/thaw (pause, unpause), the member PIDs
 * (top) and the counters `docker stats` shows (memory, CPU, PIDs, block I/O). On a v2 host the
 * unified directory `/sys/fs/cgroup/mybuild/<id>` is read instead.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import { BuildError } from '../errors.js';

const ROOT = '/sys/fs/cgroup';

const v2 = (): boolean => existsSync(`${ROOT}/cgroup.controllers`);

function dir(ctl: string, id: string): string {
  return v2() ? `${ROOT}/mybuild/${id}` : `${ROOT}/${ctl}/mybuild/${id}`;
}

async function read(ctl: string, id: string, file: string): Promise<string | undefined> {
  return readFile(`${dir(ctl, id)}/${file}`, 'utf8').then((t) => t.trim(), () => undefined);
}

/** Whether container `id` has its own cgroup (containers made by the daemon do). */
export function hasCgroup(id: string): boolean {
  return existsSync(dir(v2() ? '' : 'freezer', id));
}

/** Freezes (`true`) or thaws the container's processes; waits until the freezer says so. */
export async function setFrozen(id: string, frozen: boolean): Promise<void> {
  if (!hasCgroup(id)) throw new BuildError('INVALID_ARGUMENT', `container ${id} has no cgroup of its own (it was not started by the daemon)`);
  if (v2()) {
    await writeFile(`${dir('', id)}/cgroup.freeze`, frozen ? '1' : '0');
    return;
  }
  await writeFile(`${dir('freezer', id)}/freezer.state`, frozen ? 'FROZEN' : 'THAWED');
  for (let i = 0; i < 200; i++) {
    const st = await read('freezer', id, 'freezer.state');
    if (st === (frozen ? 'FROZEN' : 'THAWED')) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new BuildError('RUNTIME', `the freezer of container ${id} did not reach ${frozen ? 'FROZEN' : 'THAWED'}`);
}

/** Whether the container is frozen (paused). */
export async function isFrozen(id: string): Promise<boolean> {
  if (v2()) return (await read('', id, 'cgroup.freeze')) === '1';
  const st = await read('freezer', id, 'freezer.state');
  return st === 'FROZEN' || st === 'FREEZING';
}

/** The PIDs (host namespace) of the container's processes. */
export async function cgroupPids(id: string): Promise<number[]> {
  const t = (await read('pids', id, 'cgroup.procs')) ?? (await read('memory', id, 'cgroup.procs')) ?? '';
  return t.split('\n').filter(Boolean).map(Number);
}

const num = (s: string | undefined): number => (s && /^\d+$/.test(s) ? Number(s) : 0);

function kv(text: string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of (text ?? '').split('\n')) {
    const [k, v] = line.split(' ');
    if (k && v) out[k] = Number(v);
  }
  return out;
}

/** dockerd's stats document (`GET /containers/{id}/stats`) from the cgroup counters. */
export async function cgroupStats(id: string, name: string, now = new Date()): Promise<Record<string, unknown>> {
  const memStat = kv(await read('memory', id, 'memory.stat'));
  const usage = num(await read('memory', id, v2() ? 'memory.current' : 'memory.usage_in_bytes'));
  const limitRaw = await read('memory', id, v2() ? 'memory.max' : 'memory.limit_in_bytes');
  const limit = limitRaw && /^\d+$/.test(limitRaw) && Number(limitRaw) < 2 ** 62 ? Number(limitRaw) : os.totalmem();
  const cpuTotal = v2() ? (kv(await read('', id, 'cpu.stat')).usage_usec ?? 0) * 1000 : num(await read('cpuacct', id, 'cpuacct.usage'));
  const perCpu = v2() ? [] : ((await read('cpuacct', id, 'cpuacct.usage_percpu')) ?? '').split(' ').filter(Boolean).map(Number);
  const sys = await readFile('/proc/stat', 'utf8').then((t) => t.split('\n')[0].split(/\s+/).slice(1, 8).reduce((a, b) => a + Number(b), 0) * (1e9 / 100), () => 0);
  const online = os.cpus().length;
  const cpu = { cpu_usage: { total_usage: cpuTotal, percpu_usage: perCpu, usage_in_kernelmode: 0, usage_in_usermode: 0 }, system_cpu_usage: sys, online_cpus: online, throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 } };
  return {
    read: now.toISOString(),
    preread: '0001-01-01T00:00:00Z',
    name: `/${name}`,
    id,
    pids_stats: { current: (await cgroupPids(id)).length, ...(num(await read('pids', id, 'pids.max')) ? { limit: num(await read('pids', id, 'pids.max')) } : {}) },
    blkio_stats: { io_service_bytes_recursive: [], io_serviced_recursive: [], io_queue_recursive: [], io_service_time_recursive: [], io_wait_time_recursive: [], io_merged_recursive: [], io_time_recursive: [], sectors_recursive: [] },
    num_procs: 0,
    storage_stats: {},
    cpu_stats: cpu,
    precpu_stats: { cpu_usage: { total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0 }, throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 } },
    memory_stats: { usage, max_usage: num(await read('memory', id, 'memory.max_usage_in_bytes')), stats: memStat, limit },
    ...(await networkStats(id)),
  };
}

/**
 * dockerd's `networks` of stats: the counters of each interface but `lo` in the container's
 * network namespace (/proc/<pid>/net/dev of a process in its cgroup); absent without one (a
 * container on the none network has only lo).
 */
async function networkStats(id: string): Promise<{ networks?: Record<string, Record<string, number>> }> {
  const pid = (await cgroupPids(id))[0];
  if (!pid) return {};
  const text = await readFile(`/proc/${pid}/net/dev`, 'utf8').catch(() => '');
  const out: Record<string, Record<string, number>> = {};
  for (const line of text.split('\n').slice(2)) {
    const m = /^\s*([^:]+):\s*(.*)$/.exec(line);
    if (!m || m[1] === 'lo') continue;
    const f = m[2].trim().split(/\s+/).map(Number);
    out[m[1]] = { rx_bytes: f[0], rx_packets: f[1], rx_errors: f[2], rx_dropped: f[3], tx_bytes: f[8], tx_packets: f[9], tx_errors: f[10], tx_dropped: f[11] };
  }
  return Object.keys(out).length ? { networks: out } : {};
}

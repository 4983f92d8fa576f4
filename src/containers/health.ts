/**
 * Container healthchecks as dockerd runs them: the create's `Config.Healthcheck` merged over the
 * image's HEALTHCHECK (`mergeHealthcheck`), and a `HealthMonitor` per running container that
 * runs the test in the container (`runc exec`, as the container's user) every Interval (the
 * first one Interval after the start), kills it after Timeout, and keeps `State.Health`:
 * `starting` until the first success (failures inside StartPeriod do not count), `healthy` on a
 * success, `unhealthy` after Retries consecutive failures; the last five results in `Log`
 * (output cut to 4 KiB). Defaults are dockerd's: 30 s interval and timeout, 3 retries.
 */
import { spawn } from 'node:child_process';
import type { HealthConfig } from '../oci/types.js';
import { resolveUser } from '../runtime/user.js';
import { execCapture } from '../runtime/exec.js';
import type { ContainerManager } from './manager.js';

export interface HealthLogEntry {
  Start: string;
  End: string;
  ExitCode: number;
  Output: string;
}

/** Inspect's `State.Health`. */
export interface HealthState {
  Status: 'starting' | 'healthy' | 'unhealthy';
  FailingStreak: number;
  Log: HealthLogEntry[];
}

const SECOND = 1e9;
const DEFAULTS = { interval: 30 * SECOND, timeout: 30 * SECOND, retries: 3 };
const MAX_OUTPUT = 4096;
const KEEP_LOG = 5;

/** Whether `hc` runs a test (not absent, empty or `["NONE"]`). */
export function healthEnabled(hc: HealthConfig | undefined): hc is HealthConfig {
  return !!hc?.Test?.length && hc.Test[0] !== 'NONE';
}

/** dockerd's merge: the container's fields where set, the image's otherwise (a Test of `[]` inherits). */
export function mergeHealthcheck(image: HealthConfig | undefined, own: HealthConfig | undefined): HealthConfig | undefined {
  if (!own) return image;
  if (!image) return own;
  const pick = <K extends keyof HealthConfig>(k: K): HealthConfig[K] => (own[k] ? own[k] : image[k]);
  return { Test: own.Test?.length ? own.Test : image.Test, Interval: pick('Interval'), Timeout: pick('Timeout'), StartPeriod: pick('StartPeriod'), StartInterval: pick('StartInterval'), Retries: pick('Retries') };
}

/** The argv of a test (`CMD` args, or `CMD-SHELL` through `shell`). */
export function healthArgv(test: string[], shell: string[] = ['/bin/sh', '-c']): string[] {
  if (test[0] === 'CMD') return test.slice(1);
  if (test[0] === 'CMD-SHELL') return [...shell, test.slice(1).join(' ')];
  return test;
}

/** Runs one probe in running container `id`: its exit code and combined output (-1 and a message when it could not run or timed out). */
async function probe(mgr: ContainerManager, id: string, argv: string[], timeoutMs: number): Promise<{ code: number; output: string }> {
  const h = await mgr.runtimeHandle(id);
  const st = await execCapture(h.bin, ['--root', h.stateRoot, 'state', h.runtimeId]);
  const pid = st.code === 0 ? (JSON.parse(st.stdout.toString('utf8')) as { pid: number }).pid : 0;
  const args = ['--root', h.stateRoot, 'exec'];
  if (h.container.config.user && pid) {
    const u = await resolveUser(`/proc/${pid}/root`, h.container.config.user);
    args.push('--user', `${u.uid}:${u.gid}`);
  }
  args.push(h.runtimeId, ...argv);
  return new Promise((resolve) => {
    const child = spawn(h.bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let size = 0;
    const take = (b: Buffer): void => {
      if (size < MAX_OUTPUT) out.push(b.subarray(0, MAX_OUTPUT - size));
      size += b.length;
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ code: -1, output: e.message });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (timedOut) resolve({ code: -1, output: `Health check exceeded timeout (${timeoutMs / 1000}s)` });
      else resolve({ code: code ?? -1, output: Buffer.concat(out).toString('utf8') });
    });
  });
}

/** Runs a container's healthcheck while it runs (see the module comment). */
export class HealthMonitor {
  readonly state: HealthState = { Status: 'starting', FailingStreak: 0, Log: [] };
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private readonly startedAt = Date.now();

  constructor(
    private readonly mgr: ContainerManager,
    private readonly id: string,
    private readonly hc: HealthConfig,
    private readonly onStatus: (status: HealthState['Status']) => void = () => undefined,
    private readonly shell?: string[],
  ) {}

  start(): void {
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private schedule(): void {
    if (this.stopped) return;
    const inStart = this.state.Status === 'starting' && Date.now() - this.startedAt < (this.hc.StartPeriod ?? 0) / 1e6;
    const ns = inStart && this.hc.StartInterval ? this.hc.StartInterval : this.hc.Interval || DEFAULTS.interval;
    this.timer = setTimeout(() => void this.run(), ns / 1e6);
    this.timer.unref();
  }

  private async run(): Promise<void> {
    if (this.stopped) return;
    const start = new Date();
    const r = await probe(this.mgr, this.id, healthArgv(this.hc.Test ?? [], this.shell), (this.hc.Timeout || DEFAULTS.timeout) / 1e6).catch((err: unknown) => ({ code: -1, output: (err as Error).message }));
    if (this.stopped) return;
    this.state.Log.push({ Start: start.toISOString(), End: new Date().toISOString(), ExitCode: r.code, Output: r.output });
    if (this.state.Log.length > KEEP_LOG) this.state.Log.shift();
    const before = this.state.Status;
    if (r.code === 0) {
      this.state.FailingStreak = 0;
      this.state.Status = 'healthy';
    } else if (!(this.state.Status === 'starting' && Date.now() - this.startedAt < (this.hc.StartPeriod ?? 0) / 1e6)) {
      this.state.FailingStreak++;
      if (this.state.FailingStreak >= (this.hc.Retries || DEFAULTS.retries)) this.state.Status = 'unhealthy';
    }
    if (this.state.Status !== before) this.onStatus(this.state.Status);
    this.schedule();
  }
}

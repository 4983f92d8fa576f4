/**
 * `docker import --change` / `docker commit --change`: the config-only Dockerfile instructions
 * applied to an image config. A small parser of its own (one instruction per string) because
 * these strings are not Dockerfiles: no continuation lines, no variables.
 */
import { BuildError } from '../errors.js';
import { withContainerConfig } from './config.js';
import type { ImageConfig } from '../oci/types.js';

/** The instructions `--change` accepts (as Docker's `validCommitCommands`). */
export const CHANGE_INSTRUCTIONS = ['CMD', 'ENTRYPOINT', 'ENV', 'EXPOSE', 'LABEL', 'ONBUILD', 'STOPSIGNAL', 'USER', 'VOLUME', 'WORKDIR'] as const;

function jsonArray(rest: string): string[] | null {
  if (!rest.startsWith('[')) return null;
  try {
    const v: unknown = JSON.parse(rest);
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v;
  } catch {
    /* shell form */
  }
  return null;
}

function unquote(s: string): string {
  if (s.length >= 2 && ((s[0] === '"' && s.endsWith('"')) || (s[0] === "'" && s.endsWith("'")))) return s.slice(1, -1).replace(/\\(.)/g, '$1');
  return s;
}

/** Splits `a=1 "b=two words"` into words, keeping quoted parts together. */
function words(s: string): string[] {
  return (s.match(/(?:[^\s"']+|"(?:\\.|[^"\\])*"|'[^']*')+/g) ?? []).map((w) => w.replace(/"((?:\\.|[^"\\])*)"|'([^']*)'/g, (_m, dq: string | undefined, sq: string | undefined) => (dq !== undefined ? dq.replace(/\\(.)/g, '$1') : (sq ?? ''))));
}

function keyValues(instr: string, rest: string): [string, string][] {
  const ws = words(rest);
  if (ws.length === 0) throw bad(instr, rest, `${instr} needs at least one key=value`);
  if (!ws[0].includes('=')) {
    // legacy form: ENV KEY value with spaces
    const sp = rest.search(/\s/);
    if (sp < 0) throw bad(instr, rest, `${instr} needs a value`);
    return [[rest.slice(0, sp), unquote(rest.slice(sp).trim())]];
  }
  return ws.map((w) => {
    const eq = w.indexOf('=');
    if (eq <= 0) throw bad(instr, rest, `expected key=value, got "${w}"`);
    return [w.slice(0, eq), w.slice(eq + 1)];
  });
}

function bad(instr: string, rest: string, why: string): BuildError {
  return new BuildError('INVALID_ARGUMENT', `invalid change "${instr} ${rest}": ${why}`);
}

/**
 * Applies each change (`CMD ["sh"]`, `ENV A=b C=d`, `EXPOSE 80/tcp`, …) in order and returns
 * the new config. Shell-form CMD/ENTRYPOINT become `["/bin/sh", "-c", text]`. Throws a
 * BuildError INVALID_ARGUMENT naming the change for unknown instructions or bad arguments.
 */
export function applyChanges(config: ImageConfig, changes: string[]): ImageConfig {
  let cfg = config;
  for (const raw of changes) {
    const text = raw.trim();
    const m = /^(\S+)\s*([\s\S]*)$/.exec(text);
    if (!m) continue;
    const instr = m[1].toUpperCase();
    const rest = m[2].trim();
    const c = cfg.config ?? {};
    switch (instr) {
      case 'CMD':
      case 'ENTRYPOINT': {
        const v = jsonArray(rest) ?? ['/bin/sh', '-c', rest];
        cfg = withContainerConfig(cfg, instr === 'CMD' ? { Cmd: v } : { Entrypoint: v });
        break;
      }
      case 'ENV': {
        const env = [...(c.Env ?? [])];
        for (const [k, v] of keyValues(instr, rest)) {
          const i = env.findIndex((e) => e.split('=')[0] === k);
          if (i >= 0) env[i] = `${k}=${v}`;
          else env.push(`${k}=${v}`);
        }
        cfg = withContainerConfig(cfg, { Env: env });
        break;
      }
      case 'LABEL': {
        const labels = { ...(c.Labels ?? {}) };
        for (const [k, v] of keyValues(instr, rest)) labels[k] = v;
        cfg = withContainerConfig(cfg, { Labels: labels });
        break;
      }
      case 'EXPOSE': {
        const ports = { ...(c.ExposedPorts ?? {}) };
        for (const p of words(rest)) {
          if (!/^\d+(-\d+)?(\/(tcp|udp|sctp))?$/i.test(p)) throw bad(instr, rest, `invalid port "${p}", expected PORT[/PROTO]`);
          ports[p.includes('/') ? p.toLowerCase() : `${p}/tcp`] = {};
        }
        cfg = withContainerConfig(cfg, { ExposedPorts: ports });
        break;
      }
      case 'VOLUME': {
        const vols = { ...(c.Volumes ?? {}) };
        for (const v of jsonArray(rest) ?? words(rest)) vols[v] = {};
        cfg = withContainerConfig(cfg, { Volumes: vols });
        break;
      }
      case 'USER':
      case 'WORKDIR':
      case 'STOPSIGNAL': {
        if (!rest) throw bad(instr, rest, `${instr} needs an argument`);
        const v = unquote(rest);
        cfg = withContainerConfig(cfg, instr === 'USER' ? { User: v } : instr === 'WORKDIR' ? { WorkingDir: v } : { StopSignal: v });
        break;
      }
      case 'ONBUILD':
        if (!rest) throw bad(instr, rest, 'ONBUILD needs an instruction');
        cfg = withContainerConfig(cfg, { OnBuild: [...(c.OnBuild ?? []), rest] });
        break;
      default:
        throw new BuildError('INVALID_ARGUMENT', `invalid change "${text}": ${instr} is not allowed`, { hint: `allowed: ${CHANGE_INSTRUCTIONS.join(', ')}` });
    }
  }
  return cfg;
}

import type { ExposeCommand } from '../../plan/index.js';
import type { Handler } from './handler.js';
import { commitMetadata } from './metadata.js';

/** `80` → `80/tcp`; `8000-8002/udp` → each port of the range (Docker's nat.ParsePortSpecs). */
export function exposedPorts(spec: string): string[] {
  const [ports, proto = 'tcp'] = spec.split('/');
  const p = proto.toLowerCase();
  const dash = ports.indexOf('-');
  if (dash < 0) return [`${Number(ports)}/${p}`];
  const start = Number(ports.slice(0, dash));
  const end = Number(ports.slice(dash + 1));
  const out: string[] = [];
  for (let i = start; i <= end; i++) out.push(`${i}/${p}`);
  return out;
}

/** EXPOSE: add ports to ExposedPorts. */
export const exposeHandler: Handler<ExposeCommand> = {
  async apply({ session, stage, cmd }) {
    const { ports } = cmd;
    const merged: Record<string, Record<string, never>> = { ...(stage.config.config?.ExposedPorts ?? {}) };
    // The history is BuildKit's (convert_expose.go, since 2025): the words sorted (its parser
    // sorts them, before expansion; these are expanded, the same order unless a variable
    // reorders them), each as port/proto, printed as a Go slice: `EXPOSE [1234/udp 80/tcp]`.
    const added: string[] = [];
    for (const spec of [...ports].sort()) for (const p of exposedPorts(spec)) {
      merged[p] = {};
      added.push(p);
    }
    commitMetadata(session, stage, { ExposedPorts: merged }, `EXPOSE [${added.join(' ')}]`);
  },
};

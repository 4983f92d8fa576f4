/**
 * Where runc keeps its state (`runc --root`) for an executor root (`<store>/runtime`, a
 * container's `<store>/containers/<id>/runtime`): `<root>/runc` as root; in rootless mode (a user
 * namespace) with XDG_RUNTIME_DIR set, under it as runc's own rootless default does:
 * `$XDG_RUNTIME_DIR/mybuild/runc/<16 hex of sha256(root)>` — the user's tmpfs, gone at logout or
 * reboot with the containers it describes, one directory per executor root.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { inUserNamespace } from './userns.js';

export function runcStateDir(executorRoot: string, env: NodeJS.ProcessEnv = process.env): string {
  const abs = path.resolve(executorRoot);
  if (!inUserNamespace() || !env.XDG_RUNTIME_DIR) return path.join(abs, 'runc');
  return path.join(env.XDG_RUNTIME_DIR, 'mybuild', 'runc', createHash('sha256').update(abs).digest('hex').slice(0, 16));
}

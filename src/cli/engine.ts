/**
 * The Engine a command runs on: RemoteEngine for the daemon at -H/MYBUILD_HOST, else
 * LocalEngine over the store at --root (src/engine).
 */
import { DaemonClient } from '../client/client.js';
import type { Engine } from '../engine/engine.js';
import { LocalEngine } from '../engine/local.js';
import { RemoteEngine } from '../engine/remote.js';
import type { CliContext } from './context.js';

export function engineFor(ctx: CliContext): Engine {
  return ctx.host ? new RemoteEngine(DaemonClient.fromContext(ctx), ctx.env) : new LocalEngine({ root: ctx.root, env: ctx.env });
}

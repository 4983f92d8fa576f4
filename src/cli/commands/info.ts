/**
 * `mybuild info`: client facts (version, store root) and, with -H/MYBUILD_HOST, the daemon's
 * `GET /info` (server version, images, containers, root, kernel); both say whether steps run
 * rootless, the snapshotter (Storage Driver) and the default network.
 */
import path from 'node:path';
import { runtimeFacts } from '../../runtime/facts.js';
import { ImageStore } from '../../store/image-store.js';
import type { CommandMain } from '../context.js';
import { packageVersion } from './version.js';

export const main: CommandMain = async (_args, ctx) => {
  ctx.stdout.write(`Client:\n Version:    ${packageVersion()}\n Context:    ${ctx.host ? ctx.host : 'daemonless'}\n\nServer:\n`);
  let info: Record<string, unknown>;
  if (ctx.host) {
    const { DaemonClient } = await import('../../client/client.js');
    info = await DaemonClient.fromContext(ctx).json<Record<string, unknown>>('GET', '/info');
  } else {
    const store = await ImageStore.open(ctx.root);
    const { images } = await store.listImages();
    const facts = await runtimeFacts(path.join(ctx.root, 'snapshots'));
    info = { Images: new Set(images.map((s) => s.image.configDigest)).size, DockerRootDir: ctx.root, ServerVersion: `${packageVersion()} (in-process)`, Driver: facts.snapshotter, Rootless: facts.rootless ? `true${facts.mappedIds !== undefined ? ` (${facts.mappedIds} ids mapped)` : ''}` : false, DefaultNetwork: facts.network };
  }
  const line = (k: string, v: unknown): void => {
    if (v !== undefined) ctx.stdout.write(` ${`${k}:`.padEnd(20)}${String(v)}\n`);
  };
  line('Server Version', info.ServerVersion);
  line('Containers', info.Containers);
  line(' Running', info.ContainersRunning);
  line(' Stopped', info.ContainersStopped);
  line('Images', info.Images);
  line('Storage Driver', info.Driver);
  line('Rootless', info.Rootless);
  if (!ctx.host) line(' Note', ctx.env.MYBUILD_ROOTLESS_NOTE);
  line('Default Network', info.DefaultNetwork);
  line('Kernel Version', info.KernelVersion);
  line('Operating System', info.OperatingSystem);
  line('Architecture', info.Architecture);
  line('CPUs', info.NCPU);
  line('Root Dir', info.DockerRootDir);
  return 0;
};

/**
 * The on-disk layout of a store root (`ctx.root`, e.g. /var/lib/mybuild): the one module that
 * names its directories. Code elsewhere takes a path from `storeLayout(root)`, never joins a
 * directory name to the root itself. The whole tree, and who owns each part:
 *
 *     <root>/                          0711; every directory below is 0700 (store-dirs.ts)
 *       index.lock                     the store lock: index.json updates, prune, leased commits
 *       oci/                           a plain OCI image layout (skopeo/umoci can read it)
 *         oci-layout                   {"imageLayoutVersion":"1.0.0"}            (image-store.ts)
 *         index.json                   the refs                                  (image-store.ts)
 *         blobs/sha256/<hex>           content, named by its digest              (content-store.ts)
 *       ingest/<pid>-<rand>…           in-progress writes: blobs, index.json, records, locks
 *       cache/<hex>.json               build cache records                       (cache-index.ts)
 *       leases/<pid>-<rand>…           blobs pinned by running builds            (lease.ts)
 *       variants/                      compressed variants of uncompressed layers, pushed.lock
 *                                                                                (layer-variants.ts)
 *       builds/<config-hex>.json       build records: what `cache explain` reads (cache/build-record.ts)
 *       cache-last/                    the last cache key of each step identity  (cache/history.ts)
 *       cache-mounts/<hash>/           RUN --mount=type=cache directories        (builder/instructions/run.ts)
 *       cache-http/<hash>.json         ETag/Last-Modified of ADD <url> sources   (cache/http-validators.ts)
 *       context-cache/<hash>.json      stat cache of build contexts              (context/hash.ts)
 *       secrets/<pid>-<start>-<rand>/  RUN --mount=type=secret files of a step   (secrets-dir.ts)
 *       tmp/                           build scratch (add-, run-, add-git-, …), same filesystem
 *       snapshots/                     extracted layers and rootfs snapshots     (runtime/snapshotter.ts)
 *         overlay-probe.json           whether overlayfs works here
 *         overlay/ | native/           meta/<sha256>.json, s/<id>/fs (+ work), gc.lock
 *       runtime/                       builds' OCI runtime state                 (runtime/executor.ts)
 *         runc/                        runc --root
 *         bundles/<id>/                OCI bundles of running steps
 *         builds/<pid>-<rand>          markers of running builds, cleanup.lock   (builder/stale.ts)
 *       containers/                    `mybuild run` / daemon containers         (containers/manager.ts)
 *         names/                       name → id links
 *         <id>/                        config.json, state.json, owner, log.jsonl, probe-*,
 *                                      runtime/ (runc/, bundles/) of that container
 *       daemon/contexts/               build contexts the daemon received        (daemon/context-dirs.ts)
 *       networks/<id>.json             the daemon's networks                     (containers/networks/records.ts)
 *       volumes/<name>/                named and anonymous volumes: _data/, meta  (containers/volumes.ts)
 *
 * Everything lives on one filesystem so that renames into place are atomic.
 */
import path from 'node:path';

/** The paths of a store root (see the module comment). */
export interface StoreLayout {
  root: string;
  /** `<root>/index.lock` */
  indexLock: string;
  /** `<root>/oci`: the OCI image layout. */
  layout: string;
  /** `<root>/oci/index.json` */
  indexJson: string;
  /** `<root>/oci/blobs/sha256` */
  blobs: string;
  ingest: string;
  cache: string;
  leases: string;
  variants: string;
  builds: string;
  cacheLast: string;
  cacheMounts: string;
  /** `<root>/cache-http`: validators of downloaded URLs. */
  cacheHttp: string;
  contextCache: string;
  secrets: string;
  tmp: string;
  snapshots: string;
  /** `<root>/runtime`: builds' runc state and bundles. */
  runtime: string;
  /** `<root>/runtime/builds`: markers of running builds. */
  buildMarkers: string;
  containers: string;
  /** `<root>/volumes`: the daemon's and `run -v NAME:` volumes. */
  volumes: string;
  /** `<root>/networks`: the daemon's network records. */
  networks: string;
  /** `<root>/daemon/contexts` */
  daemonContexts: string;
}

/** The top-level directories of a store root, as named in the module comment. */
export const STORE_DIRS = ['oci', 'ingest', 'cache', 'leases', 'tmp', 'secrets', 'snapshots', 'runtime', 'containers', 'builds', 'cache-last', 'cache-mounts', 'cache-http', 'context-cache', 'daemon', 'variants', 'volumes', 'networks'] as const;

type StoreDir = (typeof STORE_DIRS)[number];

/** The paths of the store at `root`. Pure: makes nothing. */
export function storeLayout(root: string): StoreLayout {
  const dir = (d: StoreDir): string => path.join(root, d);
  const layout = dir('oci');
  return {
    root,
    indexLock: path.join(root, 'index.lock'),
    layout,
    indexJson: path.join(layout, 'index.json'),
    blobs: path.join(layout, 'blobs', 'sha256'),
    ingest: dir('ingest'),
    cache: dir('cache'),
    leases: dir('leases'),
    variants: dir('variants'),
    builds: dir('builds'),
    cacheLast: dir('cache-last'),
    cacheMounts: dir('cache-mounts'),
    cacheHttp: dir('cache-http'),
    contextCache: dir('context-cache'),
    secrets: dir('secrets'),
    tmp: dir('tmp'),
    snapshots: dir('snapshots'),
    runtime: dir('runtime'),
    buildMarkers: path.join(dir('runtime'), 'builds'),
    containers: dir('containers'),
    volumes: dir('volumes'),
    networks: dir('networks'),
    daemonContexts: path.join(dir('daemon'), 'contexts'),
  };
}

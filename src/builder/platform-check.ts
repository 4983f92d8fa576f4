/**
 * `--platform` for one platform's build (a multi-platform build is one per platform:
 * ./multi-platform.ts), refusing what
 * the base image or the host cannot provide instead of building one thing and labelling it
 * another:
 *
 * - `checkHostCanRun`: a RUN step for a platform this host cannot execute (another
 *   architecture, no binfmt_misc emulator registered) is refused before anything runs, naming
 *   the emulator. With QEMU's emulator registered (flag F: the kernel holds the interpreter
 *   open, so it runs inside any rootfs) foreign RUN steps simply run. amd64 hosts run 386 too.
 * - `checkBasePlatform`: with an explicit `--platform`, a base image that is for another
 *   platform (a single manifest, or the only entry of an index) is refused, naming the image and
 *   the platforms it has; an index picks its matching entry (in src/store, pickManifest).
 * - `storedPlatforms`: the platforms a stored name offers, for that error when no entry matched.
 *
 * Without `--platform`, a mismatched base image is BuildKit's InvalidBaseImagePlatform warning
 * (src/checks), not an error.
 */
import { existsSync, readFileSync } from 'node:fs';
import { PlanError, type SourceLocation } from '../errors.js';
import { isIndexType } from '../image/manifest.js';
import { parseReference } from '../image/reference.js';
import type { ImageConfig, Index, Manifest, Platform } from '../oci/types.js';
import type { Plan } from '../plan/index.js';
import { formatPlatform, hostPlatform, platformMatches } from '../oci/platform.js';
import type { ImageStore, ResolvedImage } from '../store/image-store.js';

/** QEMU's binfmt_misc handler names, by OCI architecture. */
const QEMU: Record<string, string> = { amd64: 'x86_64', '386': 'i386', arm64: 'aarch64', arm: 'arm', ppc64le: 'ppc64le', s390x: 's390x', riscv64: 'riscv64', mips64le: 'mips64el', loong64: 'loongarch64' };

/** True when this host executes binaries of `p`: natively, or through a registered binfmt_misc emulator. */
export function hostCanRun(p: Platform, binfmtDir = '/proc/sys/fs/binfmt_misc'): boolean {
  const host = hostPlatform();
  if (p.os !== host.os) return false;
  if (platformMatches(p, host) || (host.architecture === 'amd64' && p.architecture === '386')) return true;
  const name = QEMU[p.architecture];
  if (!name) return false;
  const entry = `${binfmtDir}/qemu-${name}`;
  try {
    return existsSync(entry) && readFileSync(entry, 'utf8').startsWith('enabled');
  } catch {
    return false;
  }
}

/** The binfmt_misc handler that would run binaries of `p` on this host (`qemu-aarch64`), or undefined when QEMU has none. */
export function emulatorName(p: Platform): string | undefined {
  const name = QEMU[p.architecture];
  return name ? `qemu-${name}` : undefined;
}

/**
 * Refuses a build whose stages run RUN steps for a platform the host cannot execute; each
 * stage's platform is `platformOf(stage)` (its FROM --platform, else the target). The error
 * names the emulator that is missing.
 */
export function checkHostCanRun(plan: Plan, platformOf: (stage: Plan['stages'][number]) => Platform, source: (range: Plan['stages'][number]['fromNode']['range']) => SourceLocation, binfmtDir = '/proc/sys/fs/binfmt_misc'): void {
  for (const i of plan.order) {
    const platform = platformOf(plan.stages[i]);
    if (hostCanRun(platform, binfmtDir)) continue;
    const run = plan.stages[i].commands.find((c) => c.kind === 'RUN');
    if (!run) continue;
    const emulator = emulatorName(platform);
    throw new PlanError(
      `RUN for platform ${formatPlatform(platform)} cannot run on this host (${formatPlatform(hostPlatform())}): ${emulator ? `no binfmt_misc emulator ${emulator} is registered (${binfmtDir}/${emulator})` : `QEMU has no user emulator for ${platform.architecture}`}`,
      {
        source: source(run.node.range),
        hint: emulator
          ? `install qemu-user-static and register it (scripts/install-system-deps.sh, or update-binfmts --enable ${emulator}), or build for ${formatPlatform(hostPlatform())}`
          : `build for ${formatPlatform(hostPlatform())}`,
      },
    );
  }
}

/** The platform an image config declares, or undefined when it names none. */
function configPlatform(c: ImageConfig): Platform | undefined {
  if (!c.os || !c.architecture) return undefined;
  return { os: c.os, architecture: c.architecture, ...(c.variant ? { variant: c.variant } : {}) };
}

/** Refuses `img` (resolved for `want`) when it is for another platform. */
export function checkBasePlatform(ref: string, img: ResolvedImage, want: Platform, source: SourceLocation): void {
  const have = configPlatform(img.config);
  if (!have || platformMatches(want, have)) return;
  throw new PlanError(`base image ${ref} is for ${formatPlatform(have)}, not for the requested platform ${formatPlatform(want)} (--platform)`, {
    source,
    hint: `the image has only ${formatPlatform(have)}; build with --platform ${formatPlatform(have)}, or use a base image that has ${formatPlatform(want)}`,
  });
}

/** The platforms `name` offers in the store (an index's entries, or its config's), or undefined when it is not stored. */
export async function storedPlatforms(store: ImageStore, name: string): Promise<string[] | undefined> {
  let key: string;
  try {
    key = parseReference(name).toString();
  } catch {
    return undefined;
  }
  const ref = (await store.listRefs()).find((r) => r.name === key);
  if (!ref) return undefined;
  const doc = JSON.parse((await store.content.readBytes(ref.descriptor.digest)).toString('utf8')) as Index & Manifest;
  if (isIndexType(ref.descriptor.mediaType) || Array.isArray(doc.manifests)) {
    return doc.manifests.map((m) => (m.platform ? formatPlatform(m.platform) : 'unknown'));
  }
  const cfg = JSON.parse((await store.content.readBytes(doc.config.digest)).toString('utf8')) as ImageConfig;
  const p = configPlatform(cfg);
  return [p ? formatPlatform(p) : 'unknown'];
}

/** The error for a stored `ref` with no image for `want`. */
export function noMatchingPlatform(ref: string, want: Platform, have: string[], source: SourceLocation): PlanError {
  return new PlanError(`base image ${ref} has no image for the requested platform ${formatPlatform(want)} (--platform); it has: ${have.join(', ')}`, {
    source,
    hint: `build with --platform ${have[0]}, or use a base image that has ${formatPlatform(want)}`,
  });
}

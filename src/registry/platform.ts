/**
 * Platforms (`os/arch[/variant]`) as the OCI index spells them, the host's platform, and the
 * choice of a manifest from an index (containerd's platforms matcher, simplified: os and
 * architecture must match; a wanted variant must match, with arm64's default v8 and arm's v7).
 */
import { BuildError } from '../errors.js';
import type { Descriptor, Platform } from '../image/types.js';

const ARCH: Record<string, string> = { x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64', mips64el: 'mips64le', loong64: 'loong64' };

/** The host's platform: os linux, architecture from process.arch (x64 → amd64, …). */
export function hostPlatform(): Platform {
  const architecture = ARCH[process.arch] ?? process.arch;
  return architecture === 'arm' ? { os: 'linux', architecture, variant: 'v7' } : { os: 'linux', architecture };
}

/** Parses `linux/amd64`, `linux/arm64/v8`, `amd64` (os linux). Throws BuildError INVALID_ARGUMENT. */
export function parsePlatform(s: string): Platform {
  const parts = s.trim().toLowerCase().split('/');
  if (parts.some((p) => p === '') || parts.length > 3) {
    throw new BuildError('INVALID_ARGUMENT', `invalid platform "${s}": expected os/arch[/variant], e.g. linux/amd64 or linux/arm64/v8`);
  }
  let [os, architecture, variant] = parts;
  if (parts.length === 1) {
    architecture = os;
    os = 'linux';
  }
  architecture = ARCH[architecture] ?? (architecture === 'x86_64' ? 'amd64' : architecture === 'aarch64' ? 'arm64' : architecture);
  return variant ? { os, architecture, variant } : { os, architecture };
}

/** `os/arch[/variant]` */
export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

function normVariant(p: Platform): string | undefined {
  if (p.architecture === 'arm64') return p.variant === undefined || p.variant === '' ? 'v8' : p.variant;
  if (p.architecture === 'arm') return p.variant === undefined || p.variant === '' ? 'v7' : p.variant;
  return p.variant || undefined;
}

/** True when `have` satisfies `want` (os and architecture equal; variant equal when `want` names one). */
export function platformMatches(want: Platform, have: Platform | undefined): boolean {
  if (!have) return false;
  if (want.os !== have.os || want.architecture !== have.architecture) return false;
  if (want.variant && normVariant(want) !== normVariant(have)) return false;
  return true;
}

/**
 * The manifest of an index for `want`: the first exact variant match, else the first os/arch
 * match. Returns undefined when none fits.
 */
export function pickManifest(manifests: Descriptor[], want: Platform): Descriptor | undefined {
  const candidates = manifests.filter((m) => platformMatches(want, m.platform));
  return candidates.find((m) => normVariant(m.platform!) === normVariant(want)) ?? candidates[0];
}

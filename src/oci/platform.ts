/**
 * Platforms (`os/arch[/variant]`) as the OCI index spells them: the host's platform, parsing,
 * formatting, matching and the choice of a manifest from an index. Follows containerd's
 * `platforms` package: architecture names are OCI's (`x86_64` → amd64, `aarch64` → arm64);
 * arm64's default variant is v8 and arm's v7, so `linux/arm64` and `linux/arm64/v8` match each
 * other; the host platform is `Normalize(DefaultSpec())`, so an arm64 host is `linux/arm64`, as
 * BuildKit's BUILDPLATFORM says. Pure: no project imports.
 */
import type { Descriptor, Platform } from './types.js';

/** Node's `process.arch` names → OCI architecture names. */
const NODE_ARCH: Record<string, string> = { x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64', mips64el: 'mips64le', loong64: 'loong64' };

/**
 * The host's platform as containerd's `Normalize(DefaultSpec())` gives it: os linux,
 * architecture from process.arch (x64 → amd64, …), arm's variant v7, arm64 without a variant
 * (its default v8 is written as none).
 */
export function hostPlatform(): Platform {
  const architecture = NODE_ARCH[process.arch] ?? process.arch;
  return architecture === 'arm' ? { os: 'linux', architecture, variant: 'v7' } : { os: 'linux', architecture };
}

/**
 * Parses `linux/amd64`, `linux/arm64/v8`, `amd64` (os linux) into a platform with the
 * architecture's OCI name (`x86_64` → amd64, `aarch64` → arm64) and the variant as written.
 * Returns undefined when `s` is not `os/arch[/variant]` or `arch`; callers turn that into their
 * error (see PLATFORM_SYNTAX).
 */
export function parsePlatform(s: string): Platform | undefined {
  const parts = s.trim().toLowerCase().split('/');
  if (parts.some((p) => p === '') || parts.length > 3) return undefined;
  let [os, architecture, variant] = parts;
  if (parts.length === 1) {
    architecture = os;
    os = 'linux';
  }
  architecture = NODE_ARCH[architecture] ?? (architecture === 'x86_64' ? 'amd64' : architecture === 'aarch64' ? 'arm64' : architecture);
  return variant ? { os, architecture, variant } : { os, architecture };
}

/** What `parsePlatform` accepts, for error messages. */
export const PLATFORM_SYNTAX = 'os/arch[/variant], e.g. linux/amd64 or linux/arm64/v8';

/** `os/arch[/variant]` */
export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

/** The variant `p` means: arm64's default v8 and arm's default v7 filled in. */
function effectiveVariant(p: Platform): string | undefined {
  if (p.architecture === 'arm64') return p.variant === undefined || p.variant === '' ? 'v8' : p.variant;
  if (p.architecture === 'arm') return p.variant === undefined || p.variant === '' ? 'v7' : p.variant;
  return p.variant || undefined;
}

/** True when `have` satisfies `want` (os and architecture equal; variant equal, defaults filled in, when `want` names one). */
export function platformMatches(want: Platform, have: Platform | undefined): boolean {
  if (!have) return false;
  if (want.os !== have.os || want.architecture !== have.architecture) return false;
  if (want.variant && effectiveVariant(want) !== effectiveVariant(have)) return false;
  return true;
}

/**
 * The entry of an index's `manifests` for `want`: the first whose variant is the one `want`
 * means (defaults filled in), else the first os/arch match. Undefined when none fits.
 */
export function pickManifest(manifests: Descriptor[], want: Platform): Descriptor | undefined {
  const candidates = manifests.filter((m) => platformMatches(want, m.platform));
  return candidates.find((m) => effectiveVariant(m.platform!) === effectiveVariant(want)) ?? candidates[0];
}

/** Operating systems containerd's `platforms` package knows (GOOS values). */
const KNOWN_OS = new Set(['aix', 'android', 'darwin', 'dragonfly', 'freebsd', 'hurd', 'illumos', 'ios', 'js', 'linux', 'nacl', 'netbsd', 'openbsd', 'plan9', 'solaris', 'wasip1', 'windows', 'zos']);
/** Architectures it knows (GOARCH values, after normalisation). */
const KNOWN_ARCH = new Set(['386', 'amd64', 'amd64p32', 'arm', 'armbe', 'arm64', 'arm64be', 'loong64', 'mips', 'mipsle', 'mips64', 'mips64le', 'mips64p32', 'mips64p32le', 'ppc', 'ppc64', 'ppc64le', 'riscv', 'riscv64', 's390', 's390x', 'sparc', 'sparc64', 'wasm']);

/** True when `p`'s os and architecture are ones containerd knows (`linux/bogus`, `bogus` are not). */
export function isKnownPlatform(p: Platform): boolean {
  return KNOWN_OS.has(p.os) && KNOWN_ARCH.has(p.architecture);
}

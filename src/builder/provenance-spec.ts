/**
 * `--provenance`, `--attest` and `--sbom` as buildx parses them (util/buildflags/attests.go,
 * commands/build.go) and BuildKit reads the result (frontend/attestations/parse.go,
 * solver/llbsolver/provenance.go NewProvenanceCreator):
 *
 * - `--provenance=VALUE` is `--attest type=provenance,VALUE`, a boolean `type=provenance,disabled=!b`;
 * - `--attest type=T,k=v,…` for `T` provenance or sbom (another type: `unknown attestation type`);
 *   the first entry of a type wins (buildx's Attests.ToMap);
 * - provenance keys: `mode=min|max` (`full` = max; default max once asked for), `version=v1|v0.2`
 *   (default v1, as BuildKit ≥ 0.28), `builder-id`, `reproducible`, `inline-only`, `filename`
 *   (the file name of the local/tar exporters, which mybuild refuses with provenance), `disabled`;
 * - SBOMs: refused unless disabled (mybuild has no SBOM generator).
 *
 * Without any provenance flag the result is buildx's default, DEFAULT_PROVENANCE
 * (`mode=min,inline-only=true`; null when BUILDX_NO_DEFAULT_ATTESTATIONS is true), which
 * src/builder/provenance-outputs.ts applies to pushes only. A disabled provenance is null. Pure.
 */
import { UsageError } from '../errors.js';
import { parseCsv } from './output-spec.js';

export interface ProvenanceSpec {
  mode: 'min' | 'max';
  /** SLSA provenance version: predicate https://slsa.dev/provenance/v1 or v0.2. */
  version: 'v1' | 'v0.2';
  builderId?: string;
  reproducible: boolean;
  /** Only image exporters (store, registry) carry it, not the OCI layout (BuildKit's inline-only). */
  inlineOnly: boolean;
  /** buildx's default attestation (no flag given): attached to pushes only. */
  implicit?: boolean;
}

/** buildx's default: `attest:provenance=mode=min,inline-only=true`. */
export const DEFAULT_PROVENANCE: ProvenanceSpec = { mode: 'min', version: 'v1', reproducible: false, inlineOnly: true, implicit: true };

const BOOL_TRUE = /^(1|t|true)$/i;
const BOOL = /^(1|t|true|0|f|false)$/i;

function parseBool(flag: string, key: string, v: string): boolean {
  if (!BOOL.test(v)) throw new UsageError(`invalid value ${key}=${v} in ${flag}: expected true or false`);
  return BOOL_TRUE.test(v);
}

/** buildx's CanonicalizeAttest: `true`/`false` become `disabled=`, anything else is the attributes. */
function canonical(type: string, v: string): string {
  if (BOOL.test(v)) return `type=${type},disabled=${!BOOL_TRUE.test(v)}`;
  return `type=${type},${v}`;
}

/** One `--attest` value as buildx's Attest.UnmarshalText: type, disabled and the other attributes. */
function parseAttest(flag: string, value: string): { type: string; disabled: boolean; attrs: Map<string, string> } {
  let type = '';
  let disabled = false;
  const attrs = new Map<string, string>();
  for (const field of parseCsv(value)) {
    if (field === '') continue;
    const i = field.indexOf('=');
    if (i < 0) throw new UsageError(`invalid value ${field} in ${flag} ${value}: expected key=value`, { hint: 'e.g. --attest type=provenance,mode=max' });
    const key = field.slice(0, i).trim().toLowerCase();
    const v = field.slice(i + 1);
    if (key === 'type') type = v;
    else if (key === 'disabled') disabled = parseBool(flag, key, v);
    else attrs.set(field.slice(0, i).trim(), v);
  }
  if (!type) throw new UsageError(`${flag} ${value}: attestation type not specified`, { hint: 'e.g. --attest type=provenance,mode=max' });
  return { type, disabled, attrs };
}

function provenanceOf(flag: string, attrs: Map<string, string>): ProvenanceSpec {
  const spec: ProvenanceSpec = { mode: 'max', version: 'v1', reproducible: false, inlineOnly: false };
  for (const [key, v] of attrs) {
    switch (key) {
      case 'mode':
        if (v !== 'min' && v !== 'max' && v !== 'full') throw new UsageError(`${flag}: invalid mode "${v}"`, { hint: 'mode=min or mode=max' });
        spec.mode = v === 'min' ? 'min' : 'max';
        break;
      case 'version':
        if (v !== 'v1' && v !== 'v0.2') throw new UsageError(`${flag}: invalid provenance SLSA version: ${v}`, { hint: 'version=v1 (the default) or version=v0.2' });
        spec.version = v;
        break;
      case 'builder-id':
        spec.builderId = v;
        break;
      case 'reproducible':
        spec.reproducible = parseBool(flag, key, v);
        break;
      case 'inline-only':
        spec.inlineOnly = parseBool(flag, key, v);
        break;
      case 'filename':
        break; // the provenance file of the local/tar exporters, which mybuild refuses with provenance
      default:
        throw new UsageError(`${flag}: provenance attribute "${key}" is not supported by mybuild`, { hint: 'mybuild reads mode, version, builder-id, reproducible, inline-only, filename and disabled' });
    }
  }
  return spec;
}

/**
 * The provenance the flags ask for: a spec (DEFAULT_PROVENANCE without a flag), null when disabled
 * (`--provenance=false`, `disabled=true`, BUILDX_NO_DEFAULT_ATTESTATIONS with no flag). Throws
 * UsageError for an SBOM, an unknown type or attribute.
 */
export function parseAttestFlags(flags: { provenance?: string; sbom?: string; attest?: readonly string[] }, env: NodeJS.ProcessEnv = {}): ProvenanceSpec | null {
  const inputs: { flag: string; value: string }[] = (flags.attest ?? []).map((value) => ({ flag: '--attest', value }));
  if (flags.provenance !== undefined && flags.provenance !== '') inputs.push({ flag: '--provenance', value: canonical('provenance', flags.provenance) });
  if (flags.sbom !== undefined && flags.sbom !== '') inputs.push({ flag: '--sbom', value: canonical('sbom', flags.sbom) });
  const seen = new Set<string>();
  let provenance: ProvenanceSpec | null | undefined;
  for (const { flag, value } of inputs) {
    const a = parseAttest(flag, value);
    if (a.type !== 'provenance' && a.type !== 'sbom') throw new UsageError(`${flag} ${value}: unknown attestation type "${a.type}"`, { hint: 'the types are provenance and sbom' });
    if (seen.has(a.type)) continue; // buildx: the first of a type wins
    seen.add(a.type);
    if (a.type === 'sbom') {
      if (!a.disabled) throw new UsageError(`${flag === '--sbom' ? '--sbom' : `--attest ${value}`}: SBOM attestations are not supported by mybuild (it has no SBOM generator such as BuildKit's syft scanner)`, { hint: `${flag === '--sbom' ? '--sbom=false' : '--attest type=sbom,disabled=true'} is accepted; --provenance attaches a provenance attestation` });
      continue;
    }
    provenance = a.disabled ? null : provenanceOf(flag, a.attrs);
  }
  if (provenance === undefined && env.BUILDX_NO_DEFAULT_ATTESTATIONS !== undefined && env.BUILDX_NO_DEFAULT_ATTESTATIONS !== '') {
    if (parseBool('BUILDX_NO_DEFAULT_ATTESTATIONS', 'BUILDX_NO_DEFAULT_ATTESTATIONS', env.BUILDX_NO_DEFAULT_ATTESTATIONS)) return null;
  }
  return provenance === undefined ? DEFAULT_PROVENANCE : provenance;
}

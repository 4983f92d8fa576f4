/**
 * The attestation flags as buildx and BuildKit read them (src/builder/provenance-spec.ts) and
 * BuildKit's purls of image references (src/builder/provenance.ts imagePurl). Pure.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_PROVENANCE, parseAttestFlags } from '../../src/builder/provenance-spec.js';
import { imagePurl } from '../../src/builder/provenance.js';

describe('parseAttestFlags', () => {
  it('no flag: buildx\'s default (mode=min, inline-only); BUILDX_NO_DEFAULT_ATTESTATIONS turns it off', () => {
    assert.deepEqual(parseAttestFlags({}), DEFAULT_PROVENANCE);
    assert.equal(parseAttestFlags({}, { BUILDX_NO_DEFAULT_ATTESTATIONS: '1' }), null);
    assert.deepEqual(parseAttestFlags({}, { BUILDX_NO_DEFAULT_ATTESTATIONS: 'false' }), DEFAULT_PROVENANCE);
  });
  it('--provenance=true is BuildKit\'s default mode (max), =false disables, mode= and version= are read', () => {
    assert.deepEqual(parseAttestFlags({ provenance: 'true' }), { mode: 'max', version: 'v1', reproducible: false, inlineOnly: false });
    assert.equal(parseAttestFlags({ provenance: 'false' }), null);
    assert.deepEqual(parseAttestFlags({ provenance: 'mode=min,version=v0.2,builder-id=x,reproducible=true' }), { mode: 'min', version: 'v0.2', builderId: 'x', reproducible: true, inlineOnly: false });
    assert.equal(parseAttestFlags({ provenance: 'mode=full' })?.mode, 'max');
  });
  it('--attest: the first of a type wins (buildx\'s ToMap), before --provenance', () => {
    assert.equal(parseAttestFlags({ attest: ['type=provenance,mode=min', 'type=provenance,mode=max'] })?.mode, 'min');
    assert.equal(parseAttestFlags({ attest: ['type=provenance,mode=max'], provenance: 'false' })?.mode, 'max');
    assert.equal(parseAttestFlags({ attest: ['type=provenance,disabled=true'] }), null);
  });
  it('refuses SBOMs, unknown types and attributes, and a missing type, naming the flag', () => {
    assert.throws(() => parseAttestFlags({ sbom: 'true' }), /--sbom: SBOM attestations are not supported/);
    assert.equal(parseAttestFlags({ sbom: 'false' }), DEFAULT_PROVENANCE);
    assert.throws(() => parseAttestFlags({ attest: ['type=sbom,generator=x'] }), /--attest type=sbom,generator=x: SBOM/);
    assert.throws(() => parseAttestFlags({ attest: ['type=vex'] }), /unknown attestation type "vex"/);
    assert.throws(() => parseAttestFlags({ attest: ['mode=max'] }), /attestation type not specified/);
    assert.throws(() => parseAttestFlags({ provenance: 'mode=max,complete-materials=true' }), /provenance attribute "complete-materials" is not supported/);
    assert.throws(() => parseAttestFlags({ provenance: 'version=v2' }), /invalid provenance SLSA version: v2/);
  });
});

describe('imagePurl (BuildKit purl.RefToPURL)', () => {
  it('familiar names, registries with ports, tags, digests and platforms', () => {
    assert.equal(imagePurl('docker.io/library/busybox:latest', { os: 'linux', architecture: 'amd64' }), 'pkg:docker/busybox@latest?platform=linux%2Famd64');
    assert.equal(imagePurl('alpine'), 'pkg:docker/alpine@latest');
    assert.equal(imagePurl('127.0.0.1:5000/team/app:1.2', { os: 'linux', architecture: 'arm64', variant: 'v8' }), 'pkg:docker/127.0.0.1%3A5000/team/app@1.2?platform=linux%2Farm64');
    assert.equal(imagePurl('ghcr.io/o/app:v1', { os: 'linux', architecture: 'arm', variant: 'v7' }), 'pkg:docker/ghcr.io/o/app@v1?platform=linux%2Farm%2Fv7');
    const d = `sha256:${'a'.repeat(64)}`;
    assert.equal(imagePurl(`alpine@${d}`), `pkg:docker/alpine?digest=${d}`);
    assert.equal(imagePurl(`alpine:3@${d}`), `pkg:docker/alpine@3?digest=${d}`);
  });
});

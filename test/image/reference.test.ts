import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeRegistry, parseReference, withTag } from '../../src/image/reference.js';
import { familiarName, registryHost } from '../../src/oci/reference.js';
import { BuildError } from '../../src/errors.js';

const D = `sha256:${'a'.repeat(64)}`;

describe('parseReference', () => {
  const rows: { name: string; input: string; want: { domain: string; path: string; tag?: string; digest?: string; str: string; familiar: string } }[] = [
    { name: 'official image', input: 'alpine', want: { domain: 'docker.io', path: 'library/alpine', tag: 'latest', str: 'docker.io/library/alpine:latest', familiar: 'alpine:latest' } },
    { name: 'official with tag', input: 'alpine:3.19', want: { domain: 'docker.io', path: 'library/alpine', tag: '3.19', str: 'docker.io/library/alpine:3.19', familiar: 'alpine:3.19' } },
    { name: 'user repo', input: 'user/app', want: { domain: 'docker.io', path: 'user/app', tag: 'latest', str: 'docker.io/user/app:latest', familiar: 'user/app:latest' } },
    { name: 'explicit docker.io', input: 'docker.io/alpine', want: { domain: 'docker.io', path: 'library/alpine', tag: 'latest', str: 'docker.io/library/alpine:latest', familiar: 'alpine:latest' } },
    { name: 'index.docker.io', input: 'index.docker.io/library/busybox:1', want: { domain: 'docker.io', path: 'library/busybox', tag: '1', str: 'docker.io/library/busybox:1', familiar: 'busybox:1' } },
    { name: 'localhost with port', input: 'localhost:5000/x', want: { domain: 'localhost:5000', path: 'x', tag: 'latest', str: 'localhost:5000/x:latest', familiar: 'localhost:5000/x:latest' } },
    { name: 'localhost no port', input: 'localhost/x:1', want: { domain: 'localhost', path: 'x', tag: '1', str: 'localhost/x:1', familiar: 'localhost/x:1' } },
    { name: 'ip with port and nested path', input: '127.0.0.1:5000/a/b:t', want: { domain: '127.0.0.1:5000', path: 'a/b', tag: 't', str: '127.0.0.1:5000/a/b:t', familiar: '127.0.0.1:5000/a/b:t' } },
    { name: 'digest only', input: `alpine@${D}`, want: { domain: 'docker.io', path: 'library/alpine', digest: D, str: `docker.io/library/alpine@${D}`, familiar: `alpine@${D}` } },
    { name: 'tag and digest', input: `quay.io/org/app:v1@${D}`, want: { domain: 'quay.io', path: 'org/app', tag: 'v1', digest: D, str: `quay.io/org/app:v1@${D}`, familiar: `quay.io/org/app:v1@${D}` } },
    { name: 'separators', input: 'reg.example.com/a_b/c__d/e--f.g:T_1.x-y', want: { domain: 'reg.example.com', path: 'a_b/c__d/e--f.g', tag: 'T_1.x-y', str: 'reg.example.com/a_b/c__d/e--f.g:T_1.x-y', familiar: 'reg.example.com/a_b/c__d/e--f.g:T_1.x-y' } },
    { name: 'ipv6', input: '[::1]:5000/x:1', want: { domain: '[::1]:5000', path: 'x', tag: '1', str: '[::1]:5000/x:1', familiar: '[::1]:5000/x:1' } },
  ];
  for (const { name, input, want } of rows) {
    it(name, () => {
      const got = parseReference(input);
      assert.equal(got.domain, want.domain);
      assert.equal(got.path, want.path);
      assert.equal(got.tag, want.tag);
      assert.equal(got.digest, want.digest);
      assert.equal(got.toString(), want.str);
      assert.equal(got.familiar(), want.familiar);
      assert.equal(got.name, `${want.domain}/${want.path}`);
      assert.equal(got.identifier, want.tag ?? want.digest);
    });
  }

  const bad: { name: string; input: string; want: RegExp }[] = [
    { name: 'empty', input: '', want: /empty/ },
    { name: 'uppercase repo', input: 'Alpine/Foo', want: /repository name must be lowercase/ },
    { name: 'uppercase official', input: 'Busybox', want: /repository name must be lowercase/ },
    { name: 'bad tag', input: 'alpine:-x', want: /"-x" is not a valid tag/ },
    { name: 'tag too long', input: `alpine:${'a'.repeat(129)}`, want: /is not a valid tag/ },
    { name: 'bad digest', input: 'alpine@sha256:abc', want: /not a valid digest/ },
    { name: 'unsupported digest algorithm', input: `alpine@sha512:${'a'.repeat(128)}`, want: /unsupported digest algorithm "sha512"/ },
    { name: 'double slash', input: 'localhost:5000//x', want: /empty path component/ },
    { name: 'bad character', input: 'foo/b$r', want: /"b\$r" is not a valid repository name component/ },
    { name: 'trailing separator', input: 'foo/bar-', want: /not a valid repository name component/ },
    { name: 'bad port', input: 'host.example:abc/x', want: /not a valid tag|not a valid registry host/ },
    { name: 'too long', input: `a/${'b'.repeat(260)}`, want: /at most 255/ },
  ];
  for (const { name, input, want } of bad) {
    it(`rejects: ${name}`, () => {
      assert.throws(() => parseReference(input), (e: unknown) => {
        assert.ok(e instanceof BuildError);
        assert.equal(e.code, 'INVALID_ARGUMENT');
        assert.match(e.message, want);
        assert.ok(e.message.includes(JSON.stringify(input.trim())), `message names the input: ${e.message}`);
        return true;
      });
    });
  }

  it('suggests the lowercase name', () => {
    assert.throws(() => parseReference('localhost:5000/MyApp:V1'), (e: unknown) => e instanceof BuildError && e.hint === 'use "localhost:5000/myapp:V1"');
  });
});

describe('familiarName / registryHost / normalizeRegistry / withTag', () => {
  it('familiarName', () => {
    assert.equal(familiarName('docker.io/library/alpine'), 'alpine');
    assert.equal(familiarName('docker.io/library/alpine:latest'), 'alpine:latest');
    assert.equal(familiarName('docker.io/user/app'), 'user/app');
    assert.equal(familiarName('docker.io/library/a/b'), 'library/a/b');
    assert.equal(familiarName('localhost:5000/x'), 'localhost:5000/x');
  });
  it('registryHost maps Docker Hub to its API host', () => {
    assert.equal(registryHost('docker.io'), 'registry-1.docker.io');
    assert.equal(registryHost('127.0.0.1:5000'), '127.0.0.1:5000');
  });
  it('normalizeRegistry', () => {
    assert.equal(normalizeRegistry('https://index.docker.io/v1/'), 'docker.io');
    assert.equal(normalizeRegistry('http://127.0.0.1:5000/'), '127.0.0.1:5000');
    assert.equal(normalizeRegistry('localhost:5000'), 'localhost:5000');
    assert.throws(() => normalizeRegistry('bad host!'), /invalid registry/);
  });
  it('withTag', () => {
    assert.equal(withTag(parseReference(`x/y@${D}`), 'v2').toString(), 'docker.io/x/y:v2');
  });
});

/** RUN: the proxy build args (http_proxy, …), as BuildKit passes them (real runc builds). */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { buildFiles, buildSkipReason, cleanupTemp, makeStoreRoot, tempDir } from '../helpers/build.js';

const skip = buildSkipReason();

const DOCKERFILE = ['FROM busybox', 'RUN env | grep -i _proxy= | sort > /o'].join('\n');

describe('builder: RUN proxy build args', { skip }, () => {
  let root: string;
  before(async () => {
    root = await makeStoreRoot();
  });
  after(cleanupTemp);

  // The RUN is a cache hit for any proxy value (they are not in the key): each case builds its own line.
  async function build(buildArgs: Record<string, string>, tag: string) {
    const out = await tempDir('mybuild-out-');
    const r = await buildFiles(root, { Dockerfile: `${DOCKERFILE} # ${tag}` }, { buildArgs, outputs: [{ type: 'local', dest: out }] });
    return { r, o: readFileSync(path.join(out, 'o'), 'utf8') };
  }

  it('each of the five, given in either spelling, is set in both spellings (BuildKit proxyEnvList)', async () => {
    const { o, r } = await build({ http_proxy: 'http://h:1', HTTPS_PROXY: 'http://s:2', ftp_proxy: 'ftp://f:3', NO_PROXY: 'localhost', all_proxy: 'socks5://a:4' }, 'five');
    assert.equal(o, [
      'ALL_PROXY=socks5://a:4', 'FTP_PROXY=ftp://f:3', 'HTTPS_PROXY=http://s:2', 'HTTP_PROXY=http://h:1', 'NO_PROXY=localhost',
      'all_proxy=socks5://a:4', 'ftp_proxy=ftp://f:3', 'http_proxy=http://h:1', 'https_proxy=http://s:2', 'no_proxy=localhost', '',
    ].join('\n'));
    // Never in the config or the history.
    const text = JSON.stringify({ config: r.config.config, history: r.config.history });
    for (const v of ['http://h:1', 'http://s:2', 'socks5://a:4', 'localhost']) assert.ok(!text.includes(v), v);
  });

  it('both spellings with different values: the lowercase one wins, as BuildKit (sorted keys, last wins); an empty value sets nothing', async () => {
    const { o } = await build({ HTTP_PROXY: 'http://upper:1', http_proxy: 'http://lower:2', https_proxy: '' }, 'both');
    assert.equal(o, 'HTTP_PROXY=http://lower:2\nhttp_proxy=http://lower:2\n');
  });

  it('proxy args stay out of the cache key: another proxy value is a cache hit', async () => {
    const a = await build({ http_proxy: 'http://one:1' }, 'key');
    const b = await build({ http_proxy: 'http://two:2' }, 'key');
    assert.deepEqual(b.r.misses, []);
    assert.equal(b.r.result.manifestDescriptor.digest, a.r.result.manifestDescriptor.digest);
  });
});

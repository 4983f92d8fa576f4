/**
 * src/context/git.ts without a network: the Dockerfile forms of a git source (fragment, query,
 * scp-like), BuildKit's conflicts and errors, credential redaction, commit SHAs.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isCommitSha, parseGitRef, redactRemote } from '../../src/context/git.js';

describe('context/git: parseGitRef', () => {
  it('reads #ref:subdir, the query and scp-like remotes as dfgitutil.ParseGitRef does', () => {
    assert.deepEqual(parseGitRef('https://host/org/repo.git#v1.2:sub/dir'), { remote: 'https://host/org/repo.git', scheme: 'https', host: 'host', ref: 'v1.2', subdir: 'sub/dir' });
    assert.deepEqual(parseGitRef('git://127.0.0.1:9418/repo.git'), { remote: 'git://127.0.0.1:9418/repo.git', scheme: 'git', host: '127.0.0.1:9418', ref: '', subdir: '' });
    assert.deepEqual(parseGitRef('git@github.com:org/repo.git#main'), { remote: 'git@github.com:org/repo.git', scheme: 'ssh', host: 'github.com', ref: 'main', subdir: '' });
    const q = parseGitRef('https://host/repo.git?tag=v1&subdir=/a/../b&checksum=abc123&keep-git-dir=true');
    assert.equal(q.ref, 'refs/tags/v1');
    assert.equal(q.subdir, 'b');
    assert.equal(q.checksum, 'abc123');
    assert.equal(q.keepGitDir, true);
    assert.equal(parseGitRef('https://host/repo.git#:../../etc').subdir, 'etc', 'a subdir cannot climb out of the repository');
  });

  it('refuses what BuildKit refuses', () => {
    assert.throws(() => parseGitRef('https://host/repo.git?branch=a&tag=b'), /branch and tag are mutually exclusive/);
    assert.throws(() => parseGitRef('https://host/repo.git?ref=y#x'), /ref conflicts: "x" vs "y"/);
    assert.throws(() => parseGitRef('https://host/repo.git?bogus=1'), /unexpected query "bogus"/);
    assert.throws(() => parseGitRef('ftp://host/repo.git'), /unsupported git protocol ftp/);
  });

  it('redacts credentials anywhere in a text; tells commit SHAs', () => {
    assert.equal(redactRemote("fatal: unable to access 'https://user:tok@host/r.git/': 403"), "fatal: unable to access 'https://xxxxx@host/r.git/': 403");
    assert.equal(redactRemote('https://host/r.git'), 'https://host/r.git');
    assert.ok(isCommitSha('a'.repeat(40)));
    assert.ok(isCommitSha('b'.repeat(64)));
    assert.ok(!isCommitSha('main'));
    assert.ok(!isCommitSha('A'.repeat(40)));
  });
});

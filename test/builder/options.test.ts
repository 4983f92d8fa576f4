import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseCsv, parseOutput } from '../../src/builder/output-spec.js';
import { parseKeyValue, parseSecret, parseSourceDateEpoch } from '../../src/builder/options.js';
import { UsageError } from '../../src/errors.js';

describe('parseOutput', () => {
  const rows = [
    { name: 'bare path is local', input: 'out', want: { type: 'local', dest: 'out' } },
    { name: 'oci tar by default', input: 'type=oci,dest=img.tar', want: { type: 'oci', dest: 'img.tar', tar: true } },
    { name: 'oci dir', input: 'type=oci,dest=dir,tar=false', want: { type: 'oci', dest: 'dir', tar: false } },
    { name: 'docker', input: 'type=docker,dest=x.tar', want: { type: 'docker', dest: 'x.tar' } },
    { name: 'quoted dest with comma', input: 'type=local,"dest=a,b"', want: { type: 'local', dest: 'a,b' } },
  ];
  for (const r of rows) it(r.name, () => assert.deepEqual(parseOutput(r.input), r.want));
  it('rejects unknown types and missing dest', () => {
    assert.throws(() => parseOutput('type=zip,dest=x'), (e: unknown) => e instanceof UsageError && /unknown type "zip"/.test(e.message));
    assert.throws(() => parseOutput('type=oci'), /needs dest=PATH/);
    assert.throws(() => parseOutput('type=oci,dest=x,tar=maybe'), /tar must be true or false/);
  });
});

describe('small parsers', () => {
  it('parseCsv keeps quoted commas', () => assert.deepEqual(parseCsv('a=1,"b=2,3",c'), ['a=1', 'b=2,3', 'c']));
  it('parseKeyValue takes bare names from env', () => {
    assert.deepEqual(parseKeyValue('--build-arg', 'A=1=2', {}), ['A', '1=2']);
    assert.deepEqual(parseKeyValue('--build-arg', 'HOME', { HOME: '/root' }), ['HOME', '/root']);
    assert.equal(parseKeyValue('--build-arg', 'NOPE', {}), null);
    assert.throws(() => parseKeyValue('--build-arg', '=x', {}), /empty name/);
  });
  it('parseSecret', () => {
    assert.deepEqual(parseSecret('id=tok,src=/run/tok'), { id: 'tok', src: '/run/tok' });
    assert.deepEqual(parseSecret('id=tok,env=TOKEN'), { id: 'tok', env: 'TOKEN' });
    assert.deepEqual(parseSecret('id=TOKEN'), { id: 'TOKEN', env: 'TOKEN' });
    assert.throws(() => parseSecret('src=/x'), /needs id=NAME/);
  });
  it('parseSourceDateEpoch', () => {
    assert.equal(parseSourceDateEpoch('0'), 0);
    assert.equal(parseSourceDateEpoch(undefined), undefined);
    assert.throws(() => parseSourceDateEpoch('yesterday'), /number of seconds/);
  });
});

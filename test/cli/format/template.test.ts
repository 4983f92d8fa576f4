/**
 * mybuild's Go text/template subset (src/cli/format): each case's expected text is what Go's
 * text/template (with docker's template functions) prints for the same template and data.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { asStruct } from '../../../src/cli/format/funcs.js';
import { Template } from '../../../src/cli/format/template.js';
import { tabwrite } from '../../../src/cli/format/tabwriter.js';
import { formatList } from '../../../src/cli/format/formatter.js';

const data = {
  Config: { Env: ['PATH=/bin', 'A=1'], Labels: { 'org.x': 'y', a: 'b' }, Cmd: null as null | string[] },
  RepoTags: ['busybox:latest'],
  Size: 4261656,
  Ratio: 0.5,
  Name: 'web',
  Empty: [] as string[],
};

const run = (tpl: string, d: unknown = data): string => Template.parse(tpl).execute(d);

describe('Go templates', () => {
  const cases: Array<[string, string]> = [
    ['{{.Name}}', 'web'],
    ['{{.Config.Env}}', '[PATH=/bin A=1]'],
    ['{{.Config.Labels}}', 'map[a:b org.x:y]'],
    ['{{.Config.Cmd}}', '<nil>'],
    ['{{.Missing}}', '<no value>'],
    ['{{.Size}} {{.Ratio}}', '4261656 0.5'],
    ['{{json .Config.Env}}', '["PATH=/bin","A=1"]'],
    ['{{json .Config.Cmd}}', 'null'],
    ['{{json "<&>"}}', '"\\u003c\\u0026\\u003e"'],
    ['{{range .Config.Env}}{{.}};{{end}}', 'PATH=/bin;A=1;'],
    ['{{range $i, $e := .Config.Env}}{{$i}}={{$e}} {{end}}', '0=PATH=/bin 1=A=1 '],
    ['{{range $k, $v := .Config.Labels}}{{$k}}:{{$v}},{{end}}', 'a:b,org.x:y,'],
    ['{{range .Empty}}x{{else}}none{{end}}', 'none'],
    ['{{index .RepoTags 0}} {{index .Config.Labels "org.x"}}', 'busybox:latest y'],
    ['{{join .Config.Env ","}}', 'PATH=/bin,A=1'],
    ['{{.Name | upper}} {{lower "ABC"}} {{title "hello world"}}', 'WEB abc Hello World'],
    ['{{println .Name}}', 'web\n'],
    ['{{split "a:b:c" ":"}}', '[a b c]'],
    ['{{pad "x" 2 1}}|{{truncate "abcdef" 3}}', '  x |abc'],
    ['{{if .Empty}}a{{else if .Name}}b{{else}}c{{end}}', 'b'],
    ['{{if and .Name (not .Empty)}}yes{{end}}', 'yes'],
    ['{{with .Config}}{{len .Env}}{{end}}', '2'],
    ['{{$n := .Name}}{{$n}}-{{$.Size}}', 'web-4261656'],
    ['{{printf "%-6s|%5d|%q" .Name .Size "a"}}', 'web   |4261656|"a"'],
    ['{{eq .Name "x" "web"}} {{ne .Size 1}} {{lt 1 2}}', 'true true true'],
    ['a  {{- .Name -}}  b', 'awebb'],
    ['{{/* a comment */}}x', 'x'],
    ['{{(index .Config.Env 1) | printf "%s!"}}', 'A=1!'],
    ['{{print 1 2 "x" 3}}', '1 2x3'],
  ];
  for (const [tpl, want] of cases) it(tpl, () => assert.equal(run(tpl), want));

  it('errors as Go reports them', () => {
    assert.throws(() => run('{{.Foo}}', asStruct({ ID: 'x' })), /can't evaluate field Foo/);
    assert.throws(() => Template.parse('{{nosuch .}}'), /template parsing error: template: :1: function "nosuch" not defined/);
    assert.throws(() => Template.parse('{{if .A}}x'), /unexpected EOF/);
    assert.throws(() => Template.parse('{{.A'), /unclosed action/);
    assert.throws(() => Template.parse('{{end}}'), /unexpected \{\{end\}\}/);
    assert.throws(() => run('{{join .Size ","}}'), /wrong type for value; expected \[\]string/);
  });

  it('a struct context is a method holder: {{.Label "k"}}', () => {
    assert.equal(run('{{.Label "a"}}', asStruct({ Label: (k: unknown) => ({ a: 'A' })[String(k)] ?? '' })), 'A');
  });
});

describe('tabwriter and table formats', () => {
  it('pads each column to its widest cell + 3, at least 10, as docker does', () => {
    assert.equal(tabwrite('REPOSITORY\tTAG\tSIZE\nbusybox\tlatest\t4MB\n'), 'REPOSITORY   TAG       SIZE\nbusybox      latest    4MB\n');
  });

  it('table TEMPLATE prints the header of the fields; \\t written as two characters is a tab', () => {
    const rows = [asStruct({ Repository: 'busybox', Tag: 'latest', ID: 'abc' })];
    const spec = { table: '{{.ID}}', headers: { Repository: 'REPOSITORY', Tag: 'TAG', ID: 'IMAGE ID' } };
    assert.equal(formatList('table {{.Repository}}\\t{{.ID}}', rows, spec), 'REPOSITORY   IMAGE ID\nbusybox      abc\n');
    assert.equal(formatList('{{.Repository}}:{{.Tag}}', rows, spec), 'busybox:latest\n');
    assert.equal(formatList('json', rows, spec), '{"ID":"abc","Repository":"busybox","Tag":"latest"}\n');
    assert.equal(formatList('table', [], spec), 'IMAGE ID\n');
    assert.equal(formatList(undefined, rows, spec, { quiet: true }), 'abc\n');
  });
});

# The Dockerfile file structure, over line tokens (see src/parser/lexer.ts): `directive` (one
# directive-shaped comment line), `trivia` (a run of blank and comment lines), `conts` (a run of
# continued lines), `line` (a line that ends an instruction), `hdbody`/`hdend` (heredoc body and
# terminator lines, marked by the token stream).
#
# file        = directive* [ first item* [ open ] | open ]
# instruction = line heredoc* | conts mid* line heredoc*     (closed)
# open        = conts mid*        (a continuation still open at end of file: only last)
#
# The directive block is the maximal leading run of directive lines (`first` is never one), and
# the open form only ends the file, which keeps the grammar unambiguous: exactly one parse
# (src/parser/index.ts asserts it). Lists are cons cells, not arrays, to stay O(n).
@preprocessor typescript

@{%
import { defaultLexer, type LineToken } from './lexer.js';
import type { RawFile, RawInstruction, RawHeredoc } from './raw.js';

type Item = RawInstruction | null;
/** A cons list, newest first. */
type List<T> = { head: T; tail: List<T> } | null;
const cons = <T>(d: unknown[]): List<T> => ({ tail: d[0] as List<T>, head: d[1] as T });
function toArray<T>(l: List<T>): T[] {
  const out: T[] = [];
  for (let c = l; c; c = c.tail) out.push(c.head);
  return out.reverse();
}
const nil = (): null => null;
const instructions = (items: Item[]): RawInstruction[] => items.filter((i): i is RawInstruction => i !== null);
const file = (dirs: List<LineToken>, items: Item[]): RawFile => ({ directives: toArray(dirs), instructions: instructions(items) });
%}

@lexer defaultLexer

file -> directives                        {% (d) => file(d[0], []) %}
      | directives first items            {% (d) => file(d[0], [d[1], ...toArray<Item>(d[2])]) %}
      | directives first items open       {% (d) => file(d[0], [d[1], ...toArray<Item>(d[2]), d[3]]) %}
      | directives open                   {% (d) => file(d[0], [d[1]]) %}

directives -> null {% nil %} | directives %directive {% cons %}

items -> null {% nil %} | items item {% cons %}

first -> %trivia     {% (): Item => null %}
       | closed      {% id %}

item -> first        {% id %}
      | %directive   {% (): Item => null %}

closed -> %line heredocs              {% (d): RawInstruction => ({ lines: [d[0]], heredocs: toArray(d[1]) }) %}
        | %conts mids %line heredocs  {% (d): RawInstruction => ({ lines: [d[0], ...toArray<LineToken>(d[1]), d[2]], heredocs: toArray(d[3]) }) %}

open -> %conts mids                   {% (d): RawInstruction => ({ lines: [d[0], ...toArray<LineToken>(d[1])], heredocs: [] }) %}

mids -> null {% nil %} | mids mid {% cons %}

mid -> %conts {% id %} | %trivia {% id %} | %directive {% id %}

heredocs -> null {% nil %} | heredocs heredoc {% cons %}

heredoc -> bodies %hdend              {% (d): RawHeredoc => ({ body: toArray(d[0]), end: d[1] }) %}

bodies -> null {% nil %} | bodies %hdbody {% cons %}

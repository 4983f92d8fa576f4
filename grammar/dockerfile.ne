# The Dockerfile file structure, over line tokens (see src/parser/lexer.ts): `directive` (one
# directive-shaped comment line), `trivia` (a run of blank and comment lines), `conts` (a run of
# continued lines), `line` (a line that ends an instruction), `hdbody`/`hdend` (heredoc body and
# terminator lines, marked by the token stream).
#
# file        = directive* [ items [ open ] | open ]
# items       = first item*
# instruction = line heredoc* | conts mid* line heredoc*     (closed)
# open        = conts mid*        (a continuation still open at end of file: only last)
#
# The directive block is the maximal leading run of directive lines (`first` is never one), and
# the open form only ends the file, which keeps the grammar unambiguous: exactly one parse
# (src/parser/index.ts asserts it).
#
# Linear time: nearley runs a rule's postprocessor every time the rule completes, and `file`,
# `items`, `closed` and `open` complete again after nearly every token (each token could be the
# last). So every postprocessor here is O(1): lists are cons cells (newest first), instructions
# and the file are thunks, and the arrays are built once, by calling the parse's single result.
@preprocessor typescript

@{%
import { defaultLexer, type LineToken } from './lexer.js';
import type { RawFile, RawInstruction, RawHeredoc } from './raw.js';

type Item = RawInstruction | null;
/** A value built only when needed (once, from the final parse). */
type Later<T> = () => T;
/** A cons list, newest first. */
type List<T> = { head: T; tail: List<T> } | null;
const cons = <T>(d: unknown[]): List<T> => ({ tail: d[0] as List<T>, head: d[1] as T });
const one = <T>(d: unknown[]): List<T> => ({ tail: null, head: d[0] as T });
function toArray<T>(l: List<T>): T[] {
  const out: T[] = [];
  for (let c = l; c; c = c.tail) out.push(c.head);
  return out.reverse();
}
const nil = (): null => null;
const none: Later<Item> = () => null;
const file = (dirs: List<LineToken>, items: List<Later<Item>>): Later<RawFile> => () => ({
  directives: toArray(dirs),
  instructions: toArray(items).map((i) => i()).filter((i): i is RawInstruction => i !== null),
});
%}

@lexer defaultLexer

file -> directives                        {% (d) => file(d[0], null) %}
      | directives items                  {% (d) => file(d[0], d[1]) %}
      | directives items open             {% (d) => file(d[0], cons([d[1], d[2]])) %}
      | directives open                   {% (d) => file(d[0], one([d[1]])) %}

directives -> null {% nil %} | directives %directive {% cons %}

items -> first {% one %} | items item {% cons %}

first -> %trivia     {% () => none %}
       | closed      {% id %}

item -> first        {% id %}
      | %directive   {% () => none %}

closed -> %line heredocs              {% (d): Later<Item> => () => ({ lines: [d[0]], heredocs: toArray<RawHeredoc>(d[1]) }) %}
        | %conts mids %line heredocs  {% (d): Later<Item> => () => ({ lines: [d[0], ...toArray<LineToken>(d[1]), d[2]], heredocs: toArray<RawHeredoc>(d[3]) }) %}

open -> %conts mids                   {% (d): Later<Item> => () => ({ lines: [d[0], ...toArray<LineToken>(d[1])], heredocs: [] }) %}

mids -> null {% nil %} | mids mid {% cons %}

mid -> %conts {% id %} | %trivia {% id %} | %directive {% id %}

heredocs -> null {% nil %} | heredocs heredoc {% cons %}

heredoc -> bodies %hdend              {% (d): RawHeredoc => ({ body: toArray(d[0]), end: d[1] }) %}

bodies -> null {% nil %} | bodies %hdbody {% cons %}

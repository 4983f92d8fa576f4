/**
 * The shell lexer BuildKit runs on Dockerfile words (frontend/dockerfile/shell/lex.go): quote
 * removal, escapes, and `$var` / `${var…}` expansion, optionally with word splitting.
 *
 * Semantics follow BuildKit exactly (tables in ../shared/conformance/buildkit-shell):
 * - `'…'` is literal; `"…"` expands `$` and lets the escape char quote only `"`, `$` and itself;
 *   outside quotes the escape char makes the next character literal (a trailing one is dropped).
 * - `${v:-w}` `${v-w}` `${v:+w}` `${v+w}` `${v:?m}` `${v?m}` `${v#p}` `${v##p}` `${v%p}` `${v%%p}`
 *   `${v/p/r}` `${v//p/r}`; patterns take `*` and `?` globs and may contain variables.
 * - Positional (`$1`) and special (`$@`, `$#`, …) parameters are never set.
 * - Variable names are case-sensitive (the Unix behaviour).
 *
 * - `${…}` nests at most MAX_SUBSTITUTION_DEPTH deep (the lexer recurses; BuildKit's Go stack
 *   takes any depth, ours would overflow): deeper is a PlanError naming the limit.
 *
 * Errors are PlanErrors whose message is BuildKit's (`failed to process "…": …`); callers that know
 * where the word came from rethrow with a `source` (see expand.ts). Instances are stateless
 * between calls and safe to reuse.
 */
import { PlanError } from '../errors.js';

/** What `processWordWithMatches` returns: the expansion and which names were looked up. */
export interface WordMatches {
  result: string;
  /** Names that were referenced and set (even to the empty string). */
  matched: Set<string>;
  /** Names that were referenced while unset. */
  unmatched: Set<string>;
}

const EOF = -1;

/** How deep `${…}` may nest inside one word (`${a:-${b:-…}}`). */
export const MAX_SUBSTITUTION_DEPTH = 1000;

/** Go's unicode.IsSpace. */
function isSpace(ch: string): boolean {
  return /^\p{White_Space}$/u.test(ch);
}
function isDigit(ch: string): boolean {
  return /^\p{Nd}$/u.test(ch);
}
function isLetter(ch: string): boolean {
  return /^\p{L}$/u.test(ch);
}
/** POSIX special parameters (XCU 2.5.2). */
function isSpecialParam(ch: string): boolean {
  return '@*#?-$!0'.includes(ch) && ch.length === 1;
}

/** Splits words the way BuildKit's wordsStruct does while characters are appended. */
class Words {
  word = '';
  words: string[] = [];
  inWord = false;

  addChar(ch: string): void {
    if (isSpace(ch)) {
      if (this.inWord && this.word.length !== 0) {
        this.words.push(this.word);
        this.word = '';
        this.inWord = false;
      }
    } else {
      this.addRawChar(ch);
    }
  }
  addRawChar(ch: string): void {
    this.word += ch;
    this.inWord = true;
  }
  addString(s: string): void {
    for (const ch of s) this.addChar(ch);
  }
  addRawString(s: string): void {
    this.word += s;
    this.inWord = true;
  }
  get(): string[] {
    if (this.word.length > 0) {
      this.words.push(this.word);
      this.word = '';
      this.inWord = false;
    }
    return this.words;
  }
}

/** A failure inside the lexer; converted to a PlanError with BuildKit's prefix at the top. */
class LexFailure extends Error {}

/** A limit of ours (not BuildKit's) was passed: the message quotes only the word's start. */
class LexLimit extends LexFailure {}

/** How much of a word a limit error quotes. */
const QUOTED_PREFIX = 40;

/** BuildKit's Lex switches: SkipProcessQuotes, RawQuotes, SkipUnsetEnv. */
interface LexMode {
  skipQuotes?: boolean;
  rawQuotes?: boolean;
  skipUnsetEnv?: boolean;
}

/** One run of the lexer over one word (BuildKit's shellWord). */
class ShellWord {
  private readonly chars: string[];
  private pos = 0;
  /** `${…}` currently open. */
  private depth = 0;
  readonly matched = new Set<string>();
  readonly unmatched = new Set<string>();

  constructor(
    word: string,
    private readonly env: ReadonlyMap<string, string>,
    private readonly escapeToken: string,
    private rawEscapes: boolean,
    /** BuildKit's SkipProcessQuotes, RawQuotes (quotes kept in the result) and SkipUnsetEnv. */
    private readonly mode: LexMode = {},
  ) {
    this.chars = Array.from(word);
  }

  private peek(): string | typeof EOF {
    return this.pos < this.chars.length ? this.chars[this.pos]! : EOF;
  }
  private next(): string | typeof EOF {
    return this.pos < this.chars.length ? this.chars[this.pos++]! : EOF;
  }

  process(): { result: string; words: string[] } {
    return this.processStopOn(EOF, this.rawEscapes);
  }

  /** Processes up to the end of the word or the unescaped, unquoted `stop` character. */
  private processStopOn(stop: string | typeof EOF, rawEscapes: boolean): { result: string; words: string[] } {
    let result = '';
    const words = new Words();
    const saved = this.rawEscapes;
    this.rawEscapes = rawEscapes;
    try {
      while (this.peek() !== EOF) {
        let ch = this.peek() as string;
        if (stop !== EOF && ch === stop) {
          this.next();
          return { result, words: words.get() };
        }
        if (ch === '$' || ((ch === "'" || ch === '"') && !this.mode.skipQuotes)) {
          const tmp = ch === '$' ? this.processDollar() : ch === "'" ? this.processSingleQuote() : this.processDoubleQuote();
          result += tmp;
          if (ch === '$') words.addString(tmp);
          else words.addRawString(tmp);
          continue;
        }
        ch = this.next() as string;
        if (ch === this.escapeToken) {
          if (this.rawEscapes) {
            words.addRawChar(ch);
            result += ch;
          }
          const n = this.next();
          if (n === EOF) break; // an escape at the end of the word is dropped
          ch = n;
          words.addRawChar(ch);
        } else {
          words.addChar(ch);
        }
        result += ch;
      }
      if (stop !== EOF) throw new LexFailure(`unexpected end of statement while looking for matching ${stop}`);
      return { result, words: words.get() };
    } finally {
      this.rawEscapes = saved;
    }
  }

  private processSingleQuote(): string {
    this.next();
    let result = this.mode.rawQuotes ? "'" : '';
    for (;;) {
      const ch = this.next();
      if (ch === EOF) throw new LexFailure('unexpected end of statement while looking for matching single-quote');
      if (ch === "'") return this.mode.rawQuotes ? `${result}'` : result;
      result += ch;
    }
  }

  private processDoubleQuote(): string {
    this.next();
    let result = this.mode.rawQuotes ? '"' : '';
    for (;;) {
      const p = this.peek();
      if (p === EOF) throw new LexFailure('unexpected end of statement while looking for matching double-quote');
      if (p === '"') {
        this.next();
        return this.mode.rawQuotes ? `${result}"` : result;
      }
      if (p === '$') {
        result += this.processDollar();
        continue;
      }
      let ch = this.next() as string;
      if (ch === this.escapeToken) {
        if (this.rawEscapes) result += ch;
        const q = this.peek();
        if (q === EOF) continue; // ignore an escape at the end of the word
        if (q === '"' || q === '$' || q === this.escapeToken) ch = this.next() as string;
      }
      result += ch;
    }
  }

  private processDollar(): string {
    this.next();
    if (this.peek() !== '{') {
      const name = this.processName();
      if (name === '') return '$';
      const [value, set] = this.getEnv(name);
      return !set && this.mode.skipUnsetEnv ? `$${name}` : value;
    }
    this.next();
    if (this.depth >= MAX_SUBSTITUTION_DEPTH) throw new LexLimit(`\${…} substitutions nested more than ${MAX_SUBSTITUTION_DEPTH} deep`);
    this.depth++;
    try {
      return this.processBraced();
    } finally {
      this.depth--;
    }
  }

  /** The rest of a `${…}` after the `${`. */
  private processBraced(): string {
    const first = this.peek();
    if (first === EOF) throw new LexFailure("syntax error: missing '}'");
    if (first === '{' || first === '}' || first === ':') throw new LexFailure('syntax error: bad substitution');
    const name = this.processName();
    let ch = this.next();
    let chs = ch === EOF ? '' : ch;
    let nullIsUnset = false;

    if (ch === '}') {
      const [value, set] = this.getEnv(name);
      return !set && this.mode.skipUnsetEnv ? `\${${name}}` : value;
    }
    if (ch === ':' || ch === '+' || ch === '-' || ch === '?' || ch === '#' || ch === '%') {
      if (ch === ':') {
        nullIsUnset = true;
        ch = this.next();
        chs += ch === EOF ? '' : ch;
      }
      const rawEscapes = ch === '#' || ch === '%';
      // `${v:#p}` / `${v:%p}` are not shell syntax; BuildKit rejects them.
      if (nullIsUnset && rawEscapes) throw new LexFailure(`unsupported modifier (${chs}) in substitution`);
      let word: string;
      try {
        word = this.processStopOn('}', rawEscapes).result;
      } catch (err) {
        if (err instanceof LexFailure && this.peek() === EOF) throw new LexFailure("syntax error: missing '}'");
        throw err;
      }
      const [value, set] = this.getEnv(name);
      if (!set && this.mode.skipUnsetEnv) return `\${${name}${chs}${word}}`;
      switch (ch) {
        case '-':
          return !set || (nullIsUnset && value === '') ? word : value;
        case '+':
          return !set || (nullIsUnset && value === '') ? '' : word;
        case '?':
          if (!set) throw new LexFailure(`${name}: ${word !== '' ? word : 'is not allowed to be unset'}`);
          if (nullIsUnset && value === '') throw new LexFailure(`${name}: ${word !== '' ? word : 'is not allowed to be empty'}`);
          return value;
        case '%':
        case '#': {
          // `%`/`#` remove the shortest match, `%%`/`##` the longest.
          let greedy = false;
          if (word.length > 0 && word[0] === ch) {
            greedy = true;
            word = word.slice(1);
          }
          return ch === '%' ? trimSuffix(word, value, greedy) : trimPrefix(word, value, greedy);
        }
        default:
          throw new LexFailure(`unsupported modifier (${chs}) in substitution`);
      }
    }
    if (ch === '/') {
      const replaceAll = this.peek() === '/';
      if (replaceAll) this.next();
      let pattern: string;
      try {
        pattern = this.processStopOn('/', true).result;
      } catch (err) {
        if (err instanceof LexFailure && this.peek() === EOF) throw new LexFailure("syntax error: missing '/' in ${}");
        throw err;
      }
      let replacement: string;
      try {
        replacement = this.processStopOn('}', true).result;
      } catch (err) {
        if (err instanceof LexFailure && this.peek() === EOF) throw new LexFailure("syntax error: missing '}'");
        throw err;
      }
      const [value, set] = this.getEnv(name);
      if (!set && this.mode.skipUnsetEnv) return `\${${name}/${pattern}/${replacement}}`;
      const re = shellPatternToRegex(pattern, true, false);
      if (replaceAll) return goReplaceAll(re, value, replacement);
      const m = re.exec(value);
      return m ? value.slice(0, m.index) + replacement + value.slice(m.index + m[0].length) : value;
    }
    throw new LexFailure(`unsupported modifier (${chs}) in substitution`);
  }

  /** A name: letters, digits and `_`; or a run of digits; or one special parameter. */
  private processName(): string {
    let name = '';
    while (this.peek() !== EOF) {
      const ch = this.peek() as string;
      if (name.length === 0 && isDigit(ch)) {
        while (this.peek() !== EOF && isDigit(this.peek() as string)) name += this.next();
        return name;
      }
      if (name.length === 0 && isSpecialParam(ch)) {
        this.next();
        return ch;
      }
      if (!isLetter(ch) && !isDigit(ch) && ch !== '_') break;
      name += this.next();
    }
    return name;
  }

  private getEnv(name: string): [string, boolean] {
    const v = this.env.get(name);
    if (v !== undefined) {
      this.matched.add(name);
      return [v, true];
    }
    this.unmatched.add(name);
    return ['', false];
  }
}

/**
 * A shell glob (`*`, `?`, `\` escapes; no bracket expressions) as a regular expression, as
 * BuildKit's convertShellPatternToRegex. Throws LexFailure on an invalid escape.
 */
function shellPatternToRegex(pattern: string, greedy: boolean, anchored: boolean): RegExp {
  const chars = Array.from(pattern);
  let out = anchored ? '^' : '';
  const star = greedy ? '.*' : '.*?';
  for (let i = 0; i < chars.length; i++) {
    let tok = chars[i]!;
    switch (tok) {
      case '*':
        out += star;
        continue;
      case '?':
        out += '.';
        continue;
      case '\\': {
        // `}` and `/` are escaped inside ${}, but the escape is not part of the pattern.
        const nx = chars[i + 1];
        if (nx === '}' || nx === '/') continue;
        out += '\\';
        i++;
        tok = chars[i] ?? '';
        if (tok !== '*' && tok !== '?' && tok !== '\\') {
          throw new LexFailure(`invalid pattern (${pattern}) in substitution: invalid escape '\\${tok}'`);
        }
        break;
      }
      case '[':
      case ']':
      case '{':
      case '}':
      case '.':
      case '+':
      case '(':
      case ')':
      case '|':
      case '^':
      case '$':
        out += '\\';
        break;
    }
    out += tok;
  }
  return new RegExp(out, 'u');
}

function trimPrefix(pattern: string, value: string, greedy: boolean): string {
  const m = shellPatternToRegex(pattern, greedy, true).exec(value);
  return m ? value.slice(m.index + m[0].length) : value;
}

/** Reverses a pattern without reversing its escapes (`a\*c` → `c\*a`). */
function reversePattern(pattern: string): string {
  const p = Array.from(pattern);
  const out: string[] = new Array<string>(p.length);
  const last = p.length - 1;
  for (let i = 0; i <= last; ) {
    const tok = p[i]!;
    const o = last - i;
    if (tok === '\\' && i !== last) {
      out[o - 1] = tok;
      out[o] = p[i + 1]!;
      i += 2;
    } else {
      out[o] = tok;
      i++;
    }
  }
  return out.join('');
}

function reverseString(s: string): string {
  return Array.from(s).reverse().join('');
}

/** Shortest/longest suffix removal: reverse both so it becomes a leftmost prefix match. */
function trimSuffix(pattern: string, value: string, greedy: boolean): string {
  return reverseString(trimPrefix(reversePattern(pattern), reverseString(value), greedy));
}

/** Go's regexp.Expand for a pattern without groups: `$$`, `$0`/`${0}` and unknown names (empty). */
function goExpand(template: string, match: string): string {
  let out = '';
  let i = 0;
  while (i < template.length) {
    const d = template.indexOf('$', i);
    if (d < 0) break;
    out += template.slice(i, d);
    i = d + 1;
    if (template[i] === '$') {
      out += '$';
      i++;
      continue;
    }
    let j = i;
    const brace = template[j] === '{';
    if (brace) j++;
    const m = /^[\p{L}\p{Nd}_]+/u.exec(template.slice(j));
    if (!m || (brace && template[j + m[0].length] !== '}')) {
      out += '$';
      continue;
    }
    const name = m[0];
    i = j + name.length + (brace ? 1 : 0);
    if (/^[0-9]+$/.test(name) && Number(name) === 0) out += match;
  }
  return out + template.slice(i);
}

/** Go's Regexp.ReplaceAllString: empty matches abutting a previous match are not replaced. */
function goReplaceAll(re: RegExp, src: string, repl: string): string {
  const g = new RegExp(re.source, 'gu');
  let out = '';
  let lastMatchEnd = 0;
  let searchPos = 0;
  while (searchPos <= src.length) {
    g.lastIndex = searchPos;
    const m = g.exec(src);
    if (!m) break;
    const a0 = m.index;
    const a1 = m.index + m[0].length;
    out += src.slice(lastMatchEnd, a0);
    if (a1 > lastMatchEnd || a0 === 0) out += goExpand(repl, m[0]);
    lastMatchEnd = a1;
    const cp = src.codePointAt(searchPos);
    const width = cp === undefined ? 1 : cp > 0xffff ? 2 : 1;
    if (searchPos + width > a1) searchPos += width;
    else if (searchPos + 1 > a1) searchPos++;
    else searchPos = a1;
  }
  return out + src.slice(lastMatchEnd);
}

/**
 * BuildKit's shell lexer. `escapeToken` is the Dockerfile's escape character (`\` or `` ` ``).
 * All methods throw PlanError (message `failed to process "<word>": <reason>`) on a syntax error or
 * a `${v?msg}` failure; they never mutate `env`.
 */
export class ShellLex {
  constructor(readonly escapeToken: '\\' | '`' = '\\') {}

  /** Expands `word` into one string (quotes removed, inner spacing kept). */
  processWord(word: string, env: ReadonlyMap<string, string>): string {
    return this.run(word, env).result;
  }

  /**
   * Expands `word` and splits it into words on unquoted whitespace (after expansion, so a
   * variable's spaces split too, unless it was inside quotes).
   */
  processWords(word: string, env: ReadonlyMap<string, string>): string[] {
    return this.run(word, env).words;
  }

  /** As processWord, also reporting which variable names were matched and unmatched. */
  processWordWithMatches(word: string, env: ReadonlyMap<string, string>): WordMatches {
    const r = this.run(word, env);
    return { result: r.result, matched: r.matched, unmatched: r.unmatched };
  }

  /**
   * BuildKit's ExpandRaw (a COPY/ADD heredoc body without a quoted delimiter): a lexer with
   * escape `\\` whatever the Dockerfile's, quotes kept as written (SkipProcessQuotes); variables
   * expand and a backslash escapes the next character (itself dropped, also before a newline).
   */
  processWordRaw(word: string, env: ReadonlyMap<string, string>): string {
    return this.run(word, env, { skipQuotes: true }, '\\').result;
  }

  /**
   * BuildKit's processCmdEnv for a RUN's progress name: quotes kept (RawQuotes), unset variables
   * left as written (SkipUnsetEnv), the text unchanged when it does not lex.
   */
  processDisplayWord(word: string, env: ReadonlyMap<string, string>): string {
    try {
      return this.run(word, env, { rawQuotes: true, skipUnsetEnv: true }).result;
    } catch {
      return word;
    }
  }

  private run(word: string, env: ReadonlyMap<string, string>, mode: LexMode = {}, escapeToken: string = this.escapeToken): { result: string; words: string[]; matched: Set<string>; unmatched: Set<string> } {
    const sw = new ShellWord(word, env, escapeToken, false, mode);
    try {
      const { result, words } = sw.process();
      return { result, words, matched: sw.matched, unmatched: sw.unmatched };
    } catch (err) {
      if (err instanceof LexLimit) {
        const quoted = word.length > QUOTED_PREFIX ? `${JSON.stringify(word.slice(0, QUOTED_PREFIX)).slice(0, -1)}…" (${word.length} characters)` : JSON.stringify(word);
        throw new PlanError(`failed to process ${quoted}: ${err.message}`, { cause: err, hint: 'nest fewer ${…} in one word: build the value over several ARG or ENV steps' });
      }
      if (err instanceof LexFailure) throw new PlanError(`failed to process ${JSON.stringify(word)}: ${err.message}`, { cause: err });
      throw err;
    }
  }
}

/**
 * Heredoc detection on a logical line, as BuildKit's `heredocsFromLine`/`ParseHeredoc`: the line is
 * split into shell words (quotes and escapes kept), and every word `[digits]<<[-][spaces]WORD`
 * opens a heredoc (`<<` or `<<-` alone takes the next word: `cat << EOF`). The delimiter is WORD
 * with quotes removed and escapes resolved; a quote anywhere in it turns expansion off.
 */
import { isGoSpace } from './go.js';

export interface HeredocHeader {
  name: string;
  fileDescriptor: number;
  expand: boolean;
  chomp: boolean;
}

/** Shell words of `s` with quotes and escapes kept; null on an unterminated quote. */
function rawWords(s: string): string[] | null {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (ch === "'") {
      const j = s.indexOf("'", i + 1);
      if (j < 0) return null;
      word += s.slice(i, j + 1);
      inWord = true;
      i = j;
    } else if (ch === '"') {
      let j = i + 1;
      while (j < s.length && s[j] !== '"') j += s[j] === '\\' ? 2 : 1;
      if (j >= s.length) return null;
      word += s.slice(i, j + 1);
      inWord = true;
      i = j;
    } else if (ch === '\\') {
      word += s.slice(i, i + 2);
      inWord = true;
      i++;
    } else if (isGoSpace(ch)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += ch;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}

/**
 * One shell word with quotes removed (`keepQuotes` false) or kept, escapes resolved; null when
 * `s` is not exactly one word.
 */
function processWord(s: string, keepQuotes: boolean): string | null {
  let out = '';
  let words = 0;
  let inWord = false;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (ch === "'") {
      const j = s.indexOf("'", i + 1);
      if (j < 0) return null;
      out += keepQuotes ? s.slice(i, j + 1) : s.slice(i + 1, j);
      if (!inWord) words++;
      inWord = true;
      i = j;
    } else if (ch === '"') {
      if (!inWord) words++;
      inWord = true;
      if (keepQuotes) out += '"';
      let j = i + 1;
      for (; j < s.length && s[j] !== '"'; j++) {
        if (s[j] === '\\' && j + 1 < s.length && (s[j + 1] === '"' || s[j + 1] === '$' || s[j + 1] === '\\')) j++;
        out += s[j];
      }
      if (j >= s.length) return null;
      if (keepQuotes) out += '"';
      i = j;
    } else if (ch === '\\') {
      if (!inWord) words++;
      inWord = true;
      if (i + 1 < s.length) out += s[++i];
    } else if (isGoSpace(ch)) {
      inWord = false;
    } else {
      if (!inWord) words++;
      inWord = true;
      out += ch;
    }
  }
  return words === 1 ? out : null;
}

const HEREDOC_RE = /^(\d*)<<(-?)[\t\n\f\r ]*([^<]*)$/;
const OPENER_ONLY = /^\d*<<-?$/;

/** Parses one word as a heredoc opener; null when it is not one. Throws a string for a bad fd. */
export function parseHeredocWord(src: string): HeredocHeader | null {
  const m = HEREDOC_RE.exec(src);
  if (!m) return null;
  const rest = m[3];
  if (rest === '') return null;
  let fd = 0;
  if (m[1] !== '') {
    if (BigInt(m[1]) > 0xffffffffffffffffn) throw `strconv.ParseUint: parsing "${m[1]}": value out of range`;
    fd = Number(m[1]);
  }
  const word = processWord(rest, false);
  const wordRaw = processWord(rest, true);
  if (word === null || wordRaw === null) return null;
  const quotes = (w: string): number => w.split(/['"]/).length - 1;
  return { name: word, fileDescriptor: fd, expand: quotes(word) === quotes(wordRaw), chomp: m[2] === '-' };
}

/** All heredoc openers of a logical line, in order. Throws a string for a bad fd. */
export function heredocsFromLine(line: string): HeredocHeader[] {
  const words = rawWords(line);
  if (!words) return [];
  const out: HeredocHeader[] = [];
  for (let i = 0; i < words.length; i++) {
    let w = words[i];
    if (OPENER_ONLY.test(w) && i + 1 < words.length) w += words[++i];
    const h = parseHeredocWord(w);
    if (h) out.push(h);
  }
  return out;
}

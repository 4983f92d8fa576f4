/**
 * Seeded mutations of Dockerfiles for the chaos fuzzers. `mutant(pool, seed, index)` is a pure
 * function of its arguments: the same (seed, index) always gives the same input, so a failure is
 * reproduced from the two numbers the test prints (`CHAOS_SEED=<seed> CHAOS_CASE=<index>`).
 */
import { mulberry32 } from '../helpers/prng.js';

/** Fragments that tend to reach the parser's and the expander's edge cases. */
const INSERTS = [
  // continuations and escapes
  '\\', '\\\n', '\\ \n', '\\\r\n', '`', '`\n', '\\\\', '\n\\\n', '# escape=`\n', '# escape=\\\n', '# syntax=x\n', '# check=skip=all\n',
  // heredocs
  '<<EOF', '<<EOF\n', '<<-EOF\n', '<<"EOF"\n', "<<'EOF'\n", '<< EOF', '0<<EOF', '99999999999999999999<<EOF', 'EOF\n', '\tEOF\n', '<<', '<<-',
  // expansion
  '${', '}', '$', '${a', '${a:-', '${a:+x}', '${a:?boom}', '${a#', '${a%%', '${a/', '${a//x/y}', '$a', '${}', '${:}', '${a:-${b:-', '}}',
  // quoting and JSON
  '"', "'", '["a", 1]', '["a"', '[', ']', '[]', '{', '"\\u0000"', '\\"',
  // flags and keywords
  '--', '--x="', '--mount=type=cache,target=', '--from=', '--chmod=', '--chown=', '--platform=', '=', ' AS ', ' as x', 'ONBUILD ', 'ENV ', 'ARG ', 'FROM ', 'RUN ', 'COPY ', 'HEALTHCHECK ',
  // whitespace and unicode
  ' ', '\t', '\r', '\r\n', '\n', '\n\n', '#', '\ufeff', '\u00a0', '\u0085', '\u2028', '\u3000', '\ud800', '\udfff', 'é', '😀', '\u0000', '\u001b[0m',
];

/** Nestings (open, close) for the recursive parts: shell expansion, JSON, quotes, ONBUILD triggers. */
const DEEP: [string, string][] = [['[', ']'], ['"', '"'], ['$(', ')'], ['ONBUILD ', ''], ['ONBUILD \\\n', ''], ['\\\n', '']];
const NESTS: [string, string][] = [['${a:-', '}'], ['${a:+', '}'], ...DEEP];

/** One input: the mutated text and the names of the mutations applied (for the report). */
export interface Mutant {
  text: string;
  ops: string[];
}

function lines(s: string): string[] {
  return s.split(/(?<=\n)/);
}

/**
 * The `index`-th mutant for `seed`: a file of `pool` with 1 to 6 mutations (byte flips,
 * line duplication/deletion/splicing, inserted fragments, very long lines, truncation).
 */
export function mutant(pool: readonly string[], seed: number, index: number): Mutant {
  const rnd = mulberry32((seed ^ Math.imul(index + 1, 0x9e3779b9)) >>> 0);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(rnd() * a.length)];
  const at = (s: string): number => Math.floor(rnd() * (s.length + 1));
  let t = pick(pool);
  const ops: string[] = [];
  const n = 1 + Math.floor(rnd() * 6);
  for (let k = 0; k < n; k++) {
    const op = Math.floor(rnd() * 11);
    switch (op) {
      case 0: {
        // flip one bit of one UTF-8 byte (invalid sequences decode to U+FFFD, as a file read does)
        const b = Buffer.from(t, 'utf8');
        if (b.length === 0) break;
        const i = Math.floor(rnd() * b.length);
        b[i] ^= 1 << Math.floor(rnd() * 8);
        t = b.toString('utf8');
        ops.push('bitflip');
        break;
      }
      case 1: {
        const i = at(t);
        t = t.slice(0, i) + String.fromCharCode(Math.floor(rnd() * 256)) + t.slice(i + 1);
        ops.push('byte');
        break;
      }
      case 2:
      case 3: {
        const i = at(t);
        const f = pick(INSERTS);
        t = t.slice(0, i) + f + t.slice(i);
        ops.push(`insert ${JSON.stringify(f)}`);
        break;
      }
      case 4: {
        // duplicate a run of lines
        const l = lines(t);
        const i = Math.floor(rnd() * l.length);
        const len = 1 + Math.floor(rnd() * 5);
        const times = 1 + Math.floor(rnd() * (rnd() < 0.1 ? 200 : 3));
        const run = l.slice(i, i + len);
        l.splice(i, 0, ...Array.from({ length: times }, () => run).flat());
        t = l.join('');
        ops.push(`dup ${len}x${times}`);
        break;
      }
      case 5: {
        const l = lines(t);
        l.splice(Math.floor(rnd() * l.length), 1 + Math.floor(rnd() * 3));
        t = l.join('');
        ops.push('delete');
        break;
      }
      case 6: {
        // splice in lines of another file
        const l = lines(t);
        const o = lines(pick(pool));
        const j = Math.floor(rnd() * o.length);
        l.splice(Math.floor(rnd() * (l.length + 1)), 0, ...o.slice(j, j + 1 + Math.floor(rnd() * 10)));
        t = l.join('');
        ops.push('splice');
        break;
      }
      case 7: {
        // a very long run: around, below and above BuildKit's 65535-byte line limit
        const i = at(t);
        const len = pick([1000, 30000, 65535, 65536, 70000]);
        const unit = pick(['a', ' ', '\\', '$', '"', 'é', '${a}', 'x \\\n', '<<E ', '--f ']);
        t = t.slice(0, i) + unit.repeat(Math.ceil(len / unit.length)) + t.slice(i);
        ops.push(`long ${JSON.stringify(unit)}x${Math.ceil(len / unit.length)}`);
        break;
      }
      case 8: {
        // nesting: a few hundred deep, or (not for ${…}: issue 16, see fuzz-parser.test.ts) thousands
        const i = at(t);
        const deep = rnd() < 0.2;
        const depth = 1 + Math.floor(rnd() * (deep ? 20000 : 300));
        const [open, close] = pick(deep ? DEEP : NESTS);
        t = t.slice(0, i) + open.repeat(depth) + 'x' + close.repeat(rnd() < 0.8 ? depth : Math.floor(depth / 2)) + t.slice(i);
        ops.push(`nest ${JSON.stringify(open)}x${depth}`);
        break;
      }
      case 9: {
        const i = at(t);
        t = t.slice(0, i);
        ops.push('truncate');
        break;
      }
      default: {
        // swap two lines
        const l = lines(t);
        const i = Math.floor(rnd() * l.length);
        const j = Math.floor(rnd() * l.length);
        [l[i], l[j]] = [l[j], l[i]];
        t = l.join('');
        ops.push('swap');
      }
    }
  }
  return { text: t, ops };
}

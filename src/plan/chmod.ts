/**
 * COPY/ADD `--chmod` values as BuildKit reads them (dockerfile2llb/convert_copy.go): an octal
 * mode up to 07777 that replaces each copied file's mode, or (Dockerfile 1.14) a symbolic mode as
 * chmod(1) takes it (`u+x,g-w`, `go=u-w`, `+X`, `a=rX`), applied to each file relative to the
 * file's own mode. The symbolic grammar and its semantics are those of BSD's setmode(3), which
 * BuildKit uses through github.com/tonistiigi/dchapes-mode (with umask 0): this module follows
 * that code clause by clause. Pure.
 */

const IS_UID = 0o4000;
const IS_GID = 0o2000;
const IS_TXT = 0o1000;
const RWXU = 0o700;
const RWXG = 0o070;
const RWXO = 0o007;
const R_ALL = 0o444;
const W_ALL = 0o222;
const X_ALL = 0o111;
const STANDARD = IS_UID | IS_GID | RWXU | RWXG | RWXO;
const ALL_BITS = 0o7777;

const CLEAR = 1;
const SET = 2;
const GBITS = 4;
const OBITS = 8;
const UBITS = 16;

/** One of setmode's bit commands: set (+), clear (-), conditional execute (X), copy class (u/g/o). */
interface BitCmd {
  cmd: '+' | '-' | 'X' | 'u' | 'g' | 'o';
  cmd2: number;
  bits: number;
}

/** A parsed --chmod: applies to a file's mode (permission, set-id and sticky bits). */
export interface ChmodSpec {
  /** The value as written (for history and keys). */
  text: string;
  /** The octal mode, when the value is one. */
  octal?: number;
  /** The new mode of a file whose mode is `mode` (only its low 12 bits are read). */
  apply(mode: number, isDir: boolean): number;
}

/** BuildKit's error for a value that looks numeric but is not an octal mode ≤ 07777. */
export function nonOctalError(value: string): string {
  return `invalid chmod parameter: '${value}'. it should be octal string and between 0 and 07777`;
}

/** Parses a --chmod value; returns BuildKit's error text instead of throwing. */
export function parseChmodFlag(value: string): ChmodSpec | { error: string } {
  if (/^[0-7]+$/.test(value)) {
    const n = parseInt(value, 8);
    if (n > ALL_BITS) return { error: nonOctalError(value) };
    return { text: value, octal: n, apply: () => n };
  }
  if (/^[0-9]/.test(value)) return { error: nonOctalError(value) };
  const cmds = parseSymbolic(value);
  if (!cmds) return { error: `invalid chmod parameter: '${value}': invalid syntax` };
  return { text: value, apply: (mode, isDir) => applyCmds(cmds, mode & ALL_BITS, isDir) };
}

/** setmode(3)'s parser over a symbolic mode (umask 0); null on a syntax error. */
function parseSymbolic(input: string): BitCmd[] | null {
  const cmds: BitCmd[] = [];
  const mask = ALL_BITS; // ^umask with umask 0
  const add = (op: string, who: number, oparg: number | string): void => {
    if (op === '=') {
      cmds.push({ cmd: '-', cmd2: 0, bits: who !== 0 ? who : STANDARD });
      op = '+';
    }
    if (op === '+' || op === '-' || op === 'X') {
      cmds.push({ cmd: op, cmd2: 0, bits: who !== 0 ? who & (oparg as number) : mask & (oparg as number) });
      return;
    }
    // 'u', 'g', 'o': copy that class's bits to the `who` classes.
    let cmd2 = 0;
    let bits: number;
    if (who !== 0) {
      if (who & 0o400) cmd2 |= UBITS;
      if (who & 0o040) cmd2 |= GBITS;
      if (who & 0o004) cmd2 |= OBITS;
      bits = ALL_BITS;
    } else {
      cmd2 = UBITS | GBITS | OBITS;
      bits = mask;
    }
    if (oparg === '+') cmd2 |= SET;
    else if (oparg === '-') cmd2 |= CLEAR;
    else cmd2 |= SET | CLEAR;
    cmds.push({ cmd: op as 'u' | 'g' | 'o', cmd2, bits });
  };

  let s = input;
  if (s === '') return null;
  let equalOpDone = false;
  for (;;) {
    let who = 0;
    for (;;) {
      if (s.length === 0) return null;
      const c = s[0];
      if (c === 'a') who |= STANDARD;
      else if (c === 'u') who |= IS_UID | RWXU;
      else if (c === 'g') who |= IS_GID | RWXG;
      else if (c === 'o') who |= RWXO;
      else break;
      s = s.slice(1);
    }
    // One or more `op perms` after the who list (`u+x-w`), then `,` or the end.
    for (;;) {
      if (s.length === 0) return null;
      const op = s[0]!;
      s = s.slice(1);
      if (op === '=') equalOpDone = false;
      else if (op !== '+' && op !== '-') return null;
      who &= ~IS_TXT;
      let perm = 0;
      let permX = 0;
      for (;; s = s.slice(1)) {
        const b = s.length > 0 ? s[0]! : '';
        if (b === 'r') perm |= R_ALL;
        else if (b === 's') {
          if (who === 0 || (who & ~RWXO) !== 0) perm |= IS_UID | IS_GID;
        } else if (b === 't') {
          if (who === 0 || (who & ~RWXO) !== 0) {
            who |= IS_TXT;
            perm |= IS_TXT;
          }
        } else if (b === 'w') perm |= W_ALL;
        else if (b === 'X') {
          if (op !== '-') permX = X_ALL;
          else perm |= X_ALL;
        } else if (b === 'x') perm |= X_ALL;
        else if (b === 'u' || b === 'g' || b === 'o') {
          if (perm !== 0) {
            add(op, who, perm);
            perm = 0;
          }
          if (op === '=') equalOpDone = true;
          if (permX !== 0) {
            add('X', who, permX);
            permX = 0;
          }
          add(b, who, op);
        } else {
          if (perm !== 0 || (op === '=' && !equalOpDone)) {
            if (op === '=') equalOpDone = true;
            add(op, who, perm);
          }
          if (permX !== 0) add('X', who, permX);
          break;
        }
      }
      if (s === '') return cmds;
      if (s[0] === ',') {
        s = s.slice(1);
        break;
      }
    }
  }
}

/** setmode's getmode: the commands applied in order to `mode`. */
function applyCmds(cmds: readonly BitCmd[], mode: number, isDir: boolean): number {
  const omode = mode;
  let nm = mode;
  const common = (c: BitCmd, value: number): void => {
    if (c.cmd2 & CLEAR) {
      const clr = c.cmd2 & SET ? RWXO : value;
      if (c.cmd2 & UBITS) nm &= ~((clr << 6) & c.bits);
      if (c.cmd2 & GBITS) nm &= ~((clr << 3) & c.bits);
      if (c.cmd2 & OBITS) nm &= ~(clr & c.bits);
    }
    if (c.cmd2 & SET) {
      if (c.cmd2 & UBITS) nm |= (value << 6) & c.bits;
      if (c.cmd2 & GBITS) nm |= (value << 3) & c.bits;
      if (c.cmd2 & OBITS) nm |= value & c.bits;
    }
  };
  for (const c of cmds) {
    if (c.cmd === 'u') common(c, (nm & RWXU) >> 6);
    else if (c.cmd === 'g') common(c, (nm & RWXG) >> 3);
    else if (c.cmd === 'o') common(c, nm & RWXO);
    else if (c.cmd === '+') nm |= c.bits;
    else if (c.cmd === '-') nm &= ~c.bits;
    else if (omode & X_ALL || isDir) nm |= c.bits;
  }
  return nm & ALL_BITS;
}

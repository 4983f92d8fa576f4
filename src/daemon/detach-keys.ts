/**
 * Detach keys of attach and exec (dockerd's `detachKeys`, default `ctrl-p,ctrl-q`): the
 * sequence parsed as dockerd's term.ToBytes does (`ctrl-a`…`ctrl-z`, `ctrl-@`, `ctrl-[`,
 * `ctrl-\`, `ctrl-]`, `ctrl-^`, `ctrl-_`, or one character), and a stdin filter that passes
 * the client's bytes on and calls `onDetach` instead when the sequence is typed (a partial match
 * is held back until it is completed or broken, as dockerd's escape proxy does).
 */
import { Transform, type TransformCallback } from 'node:stream';
import { BuildError } from '../errors.js';

export const DEFAULT_DETACH_KEYS = 'ctrl-p,ctrl-q';

/** `ctrl-p,ctrl-q` → [0x10, 0x11]. Throws BuildError INVALID_ARGUMENT for an unknown key. */
export function parseDetachKeys(spec: string): Buffer {
  const out: number[] = [];
  for (const raw of spec.split(',')) {
    const k = raw.trim();
    const m = /^ctrl-(.)$/i.exec(k);
    if (k.length === 1) out.push(k.charCodeAt(0));
    else if (m && /[a-z]/i.test(m[1])) out.push(m[1].toLowerCase().charCodeAt(0) - 96);
    else if (m && '@[\\]^_'.includes(m[1])) out.push('@[\\]^_'.indexOf(m[1]) + (m[1] === '@' ? 0 : 26));
    else throw new BuildError('INVALID_ARGUMENT', `Invalid escape keys (${spec}) provided`, { hint: 'use keys like ctrl-p,ctrl-q' });
  }
  return Buffer.from(out);
}

/** The stdin filter (see the module comment). */
export function detachFilter(keys: Buffer, onDetach: () => void): Transform {
  let held = 0;
  let detached = false;
  return new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      if (detached) return cb();
      const out: number[] = [];
      for (const b of chunk) {
        if (b === keys[held]) {
          held++;
          if (held === keys.length) {
            detached = true;
            if (out.length) this.push(Buffer.from(out));
            onDetach();
            return cb();
          }
          continue;
        }
        // A broken partial match: the held bytes were input after all.
        for (let i = 0; i < held; i++) out.push(keys[i]);
        held = 0;
        if (b === keys[0]) held = 1;
        else out.push(b);
      }
      cb(null, out.length ? Buffer.from(out) : undefined);
    },
  });
}

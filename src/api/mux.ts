/**
 * Docker's stream multiplexing for attach and logs of a container without a TTY: each frame is
 * an 8-byte header [stream (1 stdout, 2 stderr), 0, 0, 0, size BE32] and the payload. The
 * daemon writes frames (muxFrame); the client splits them again (MuxDecoder).
 */

/** Writes Docker's multiplexed frame: [stream, 0, 0, 0, size BE32] + payload. */
export function muxFrame(stream: 0 | 1 | 2, payload: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h[0] = stream;
  h.writeUInt32BE(payload.length, 4);
  return Buffer.concat([h, payload]);
}

/** Splits a multiplexed byte stream back into frames (client side); keeps partial frames between calls. */
export class MuxDecoder {
  private buf = Buffer.alloc(0);
  /** Feeds bytes; returns the complete frames. */
  push(chunk: Buffer): { stream: number; data: Buffer }[] {
    this.buf = Buffer.concat([this.buf, chunk]);
    const out: { stream: number; data: Buffer }[] = [];
    while (this.buf.length >= 8) {
      const n = this.buf.readUInt32BE(4);
      if (this.buf.length < 8 + n) break;
      out.push({ stream: this.buf[0], data: this.buf.subarray(8, 8 + n) });
      this.buf = this.buf.subarray(8 + n);
    }
    return out;
  }
}

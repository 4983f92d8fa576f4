/**
 * A daemon container's terminal size as its clients set it (`POST /containers/{id}/resize?h=&w=`,
 * which docker's CLI sends once the container started and again on every SIGWINCH): a
 * TerminalSource for the runtime (src/runtime/executor.ts sizes the container's pty from it).
 */
import type { TerminalSize, TerminalSource } from '../runtime/spec.js';

export class ClientTerminal implements TerminalSource {
  private current?: TerminalSize;
  private readonly listeners = new Set<() => void>();

  size(): TerminalSize | undefined {
    return this.current;
  }

  onResize(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  /** A client's new size: kept, and the runtime told. */
  set(size: TerminalSize): void {
    this.current = size;
    for (const l of this.listeners) l();
  }
}

/**
 * What the concurrent platform builds of one multi-platform build (./multi-platform.ts) share,
 * so that running them side by side gives what running them one after the other gave:
 *
 * - base images: the leader (the host's platform) resolves a `FROM` name first, pulling and
 *   naming it when it must; a follower asking for the same name waits until the leader has
 *   resolved it (or ended), then finds it stored and takes its own entry by digest, never
 *   renaming it (./build.ts resolveImage);
 * - steps: a filesystem step whose cache key another platform is producing waits for it and
 *   then hits the cache (a platform-independent stage, e.g. `FROM --platform=$BUILDPLATFORM`
 *   without TARGET* args, runs once), as BuildKit's solver merges equal vertices.
 */

export class SiblingBuilds {
  private readonly bases = new Map<string, { done: Promise<void>; resolve: () => void }>();
  private readonly steps = new Map<string, Promise<void>>();
  private leaderEnd!: () => void;
  private readonly leaderEnded = new Promise<void>((resolve) => (this.leaderEnd = resolve));

  private base(name: string): { done: Promise<void>; resolve: () => void } {
    let e = this.bases.get(name);
    if (!e) {
      let resolve!: () => void;
      const done = new Promise<void>((r) => (resolve = r));
      e = { done, resolve };
      this.bases.set(name, e);
    }
    return e;
  }

  /** A follower's wait before resolving base `name`: until the leader resolved it, or ended. */
  async leaderResolved(name: string): Promise<void> {
    await Promise.race([this.base(name).done, this.leaderEnded]);
  }

  /** The leader resolved (or failed to resolve) base `name`. */
  baseResolved(name: string): void {
    this.base(name).resolve();
  }

  /** The leader's build ended: followers wait for nothing more of it. */
  leaderDone(): void {
    this.leaderEnd();
  }

  /**
   * Holds the step key `key` for the caller, after waiting for any sibling holding it; returns
   * the release. The caller looks up the cache once it holds the key.
   */
  async holdStep(key: string): Promise<() => void> {
    for (let running = this.steps.get(key); running; running = this.steps.get(key)) await running;
    let release!: () => void;
    this.steps.set(key, new Promise<void>((r) => (release = r)));
    return () => {
      this.steps.delete(key);
      release();
    };
  }
}

/** A platform build's part in a SiblingBuilds. */
export interface Siblings {
  share: SiblingBuilds;
  /** Whether this build is the leader (the first platform, the host's when listed). */
  leader: boolean;
}

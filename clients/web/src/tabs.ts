/**
 * What the tabs of one origin share: a lock so that one of them refreshes
 * at a time (Web Locks API), and a channel that carries the outcome to the
 * others (BroadcastChannel). Where either is missing, each tab is on its
 * own: refreshes are still single-flight within the tab.
 */

/** The session state a tab announces after a login, a refresh or a logout. */
export type TabMessage =
  | { type: "token"; accessToken: string; expiresAt: number; refreshAt: number; user: unknown }
  | { type: "logout" };

export interface Tabs {
  /** Whether a lock across tabs exists (else withLock runs fn at once). */
  readonly locking: boolean;
  /**
   * Runs fn holding the lock. waited tells fn whether another tab held it
   * when it was asked for: that tab announces its outcome before releasing.
   */
  withLock<T>(fn: (waited: boolean) => Promise<T>): Promise<T>;
  post(m: TabMessage): void;
  close(): void;
}

interface LockManagerLike {
  request(name: string, options: { ifAvailable: boolean }, cb: (lock: unknown) => Promise<unknown>): Promise<unknown>;
  request(name: string, cb: (lock: unknown) => Promise<unknown>): Promise<unknown>;
}

function lockManager(): LockManagerLike | undefined {
  const nav = (globalThis as { navigator?: { locks?: LockManagerLike } }).navigator;
  return nav?.locks;
}

export function openTabs(name: string, onMessage: (m: TabMessage) => void): Tabs {
  const locks = lockManager();
  const channel = typeof BroadcastChannel === "function" ? new BroadcastChannel(name) : undefined;
  if (channel) channel.onmessage = (e: MessageEvent) => onMessage(e.data as TabMessage);
  const skipped = Symbol("lock held elsewhere");
  return {
    locking: locks !== undefined,
    async withLock<T>(fn: (waited: boolean) => Promise<T>): Promise<T> {
      if (!locks) return fn(false);
      // First without waiting, to learn whether another tab holds it.
      const first = (await locks.request(name, { ifAvailable: true }, async (lock) =>
        lock === null ? skipped : { value: await fn(false) },
      )) as typeof skipped | { value: T };
      if (first !== skipped) return first.value;
      return (await locks.request(name, () => fn(true))) as T;
    },
    post(m: TabMessage) {
      channel?.postMessage(m);
    },
    close() {
      channel?.close();
    },
  };
}

/** Timers as a service sees them: the real ones (nodeScheduler) or a test's, which fires them as its clock moves. */
export interface Scheduler {
  setTimeout(fire: () => void, delayMs: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The real timers. */
export const nodeScheduler: Scheduler = {
  setTimeout: (fire, delayMs) => setTimeout(fire, delayMs),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/**
 * Keyed, idempotent timers (the OpenBSD way): setting a key replaces its pending timer, so a core can say
 * "master-down in 3.6 s" on every advert, or "CONTACT in 1 s" on every send, without timeouts piling up.
 */
export class KeyedTimers {
  private readonly pending = new Map<string, unknown>();

  constructor(private readonly scheduler: Scheduler = nodeScheduler) {}

  set(key: string, delayMs: number, fire: () => void): void {
    this.cancel(key);
    const handle = this.scheduler.setTimeout(
      () => {
        this.pending.delete(key);
        fire();
      },
      Math.max(0, delayMs),
    );
    this.pending.set(key, handle);
  }

  cancel(key: string): void {
    if (!this.pending.has(key)) return;
    this.scheduler.clearTimeout(this.pending.get(key));
    this.pending.delete(key);
  }

  has(key: string): boolean {
    return this.pending.has(key);
  }

  keys(): string[] {
    return [...this.pending.keys()];
  }

  cancelAll(): void {
    for (const h of this.pending.values()) this.scheduler.clearTimeout(h);
    this.pending.clear();
  }
}

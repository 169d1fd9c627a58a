import type { Scheduler } from './types.js';

/** The real timers. */
export const nodeScheduler: Scheduler = {
  setTimeout: (fire, delayMs) => setTimeout(fire, delayMs),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/**
 * Keyed, idempotent timers (the OpenBSD way): setting a key replaces its pending timer. The machine's timers
 * (startup, recover-wait...) and the link's (CONTACT, receive timeout, reconnect) each have one key.
 */
export class KeyedTimers {
  private readonly pending = new Map<string, unknown>();

  constructor(private readonly scheduler: Scheduler) {}

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

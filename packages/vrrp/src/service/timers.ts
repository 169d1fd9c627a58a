/**
 * Keyed, idempotent timers (the OpenBSD way): setting a key replaces its pending timer, so a core can say
 * "master-down in 3.6 s" on every advert without the service piling up timeouts.
 */
export class KeyedTimers {
  private readonly pending = new Map<string, NodeJS.Timeout>();

  set(key: string, delayMs: number, fire: () => void): void {
    this.cancel(key);
    const t = setTimeout(
      () => {
        this.pending.delete(key);
        fire();
      },
      Math.max(0, delayMs),
    );
    this.pending.set(key, t);
  }

  cancel(key: string): void {
    const t = this.pending.get(key);
    if (t) clearTimeout(t);
    this.pending.delete(key);
  }

  has(key: string): boolean {
    return this.pending.has(key);
  }

  cancelAll(): void {
    for (const t of this.pending.values()) clearTimeout(t);
    this.pending.clear();
  }
}

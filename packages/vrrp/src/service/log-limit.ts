/**
 * One path for bad input: count, log rate-limited, drop. A flood of bad adverts must not become a flood of log
 * lines: per key, the first line is logged, then at most one per interval, saying how many were held back.
 */
export class LogLimiter {
  private readonly last = new Map<string, { at: number; held: number }>();

  constructor(private readonly intervalMs = 10_000) {}

  /** The line to log now (with the count held back since the last one), or undefined to stay quiet. */
  pass(key: string, now: number, line: string): string | undefined {
    const l = this.last.get(key);
    if (l && now - l.at < this.intervalMs) {
      l.held++;
      return undefined;
    }
    this.last.set(key, { at: now, held: 0 });
    return l && l.held > 0 ? `${line} (${l.held} more like it not logged)` : line;
  }
}

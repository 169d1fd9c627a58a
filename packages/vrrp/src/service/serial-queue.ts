/**
 * Runs jobs one after another in the order they were queued. Notify scripts go through one queue per service so
 * a quick BACKUP -> MASTER -> BACKUP never has two scripts racing (keepalived issue #1055), not even across the
 * instances of a sync group.
 */
export class SerialQueue {
  private tail: Promise<void> = Promise.resolve();
  private depth = 0;

  push(job: () => Promise<unknown>): Promise<void> {
    this.depth++;
    const run = this.tail.then(job).then(
      () => undefined,
      () => undefined, // a failed job is the job's to report; it must not stop the ones behind it
    );
    this.tail = run.finally(() => {
      this.depth--;
    });
    return this.tail;
  }

  /** Jobs queued or running. */
  get size(): number {
    return this.depth;
  }

  /** Resolves when everything queued so far has run. */
  drain(): Promise<void> {
    return this.tail;
  }
}

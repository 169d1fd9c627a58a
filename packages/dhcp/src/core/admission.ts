/**
 * Which received request is handled next, and which are shed, when more arrive than the server can answer.
 *
 * Two lanes. FINISH holds messages that complete work already started or free resources (REQUEST, DECLINE,
 * RELEASE): a REQUEST is the second half of an exchange we already paid an OFFER for, so it goes first. START
 * holds the ones that begin new work (DISCOVER, INFORM, BOOTP, anything unclassified). Each lane is FIFO and
 * has a longest wait: an item that waited longer is shed rather than answered late (its client has moved on or
 * retransmitted; answering it would make every later client late too). Under overload the server thus answers
 * what it can, promptly, instead of answering everything later and later (RFC 2131 4.1: clients retransmit).
 *
 * Each lane is also bounded in length: an arrival finding its lane full is refused at once (push() returns
 * false), so a flood never makes the process hold thousands of packets it will shed anyway.
 *
 * Pure: the caller passes the clock (milliseconds) to push() and take(). The wait measured is the wait in this
 * queue: what a packet spent in the kernel's socket buffer before the process read it is invisible from here.
 */
export enum Lane {
  FINISH = 0,
  START = 1,
}

export interface AdmissionOptions {
  /** Longest wait of a FINISH item (REQUEST ...). Default 1000 ms. */
  finishMaxWaitMs?: number;
  /** Longest wait of a START item (DISCOVER ...). Default 200 ms. */
  startMaxWaitMs?: number;
  /** Most FINISH items held. Default 4096. */
  finishMaxLength?: number;
  /** Most START items held. Default 1024 (a fraction of a second of a busy server's work). */
  startMaxLength?: number;
}

/** A FIFO over a growable array with a moving head: no shift(), no per-item node. */
class Fifo<T> {
  private items: (T | undefined)[] = [];
  private times: number[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T, at: number): void {
    this.items.push(item);
    this.times.push(at);
  }

  /** When the oldest item was pushed, or undefined when empty. */
  oldestAt(): number | undefined {
    return this.head < this.items.length ? this.times[this.head] : undefined;
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.head++;
    if (this.head === this.items.length) {
      this.items = [];
      this.times = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.times = this.times.slice(this.head);
      this.head = 0;
    }
    return item;
  }
}

export class AdmissionQueue<T> {
  private readonly lanes = [new Fifo<T>(), new Fifo<T>()] as const;
  private readonly maxWait: readonly [number, number];
  private readonly maxLength: readonly [number, number];

  constructor(opts: AdmissionOptions = {}) {
    this.maxWait = [opts.finishMaxWaitMs ?? 1000, opts.startMaxWaitMs ?? 200];
    this.maxLength = [opts.finishMaxLength ?? 4096, opts.startMaxLength ?? 1024];
  }

  get length(): number {
    return this.lanes[0].length + this.lanes[1].length;
  }

  /** Queues item; false (nothing queued) when its lane is full: the caller sheds it. */
  push(item: T, lane: Lane, nowMs: number): boolean {
    const q = this.lanes[lane];
    if (q.length >= this.maxLength[lane]) return false;
    q.push(item, nowMs);
    return true;
  }

  /**
   * The next item to handle: the oldest FINISH item, else the oldest START item. Items that waited longer than
   * their lane allows are passed to `shed` (in order) and skipped.
   */
  take(nowMs: number, shed: (item: T, lane: Lane, waitedMs: number) => void): T | undefined {
    for (let lane: Lane = Lane.FINISH; lane <= Lane.START; lane++) {
      const q = this.lanes[lane];
      for (;;) {
        const at = q.oldestAt();
        if (at === undefined) break;
        const item = q.shift() as T;
        const waited = nowMs - at;
        if (waited > this.maxWait[lane]) {
          shed(item, lane, waited);
          continue;
        }
        return item;
      }
    }
    return undefined;
  }
}

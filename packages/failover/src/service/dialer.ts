import type { Counters, KeyedTimers } from '@hadhcp/common';
import { isDialFailure, type DialFailure, type PeerConnection, type PeerTransport } from '../io/transport.js';
import { reconnectDelayMs, type DialOutcome } from './reconnect.js';
import type { FailoverLogger } from './types.js';

/**
 * Gets connections to the peer: listens (the peer dials us), dials (we dial the peer), and dials again after a
 * failure or a lost link as reconnect.ts says. New connections, either way, go to `adopt`; what they carry is
 * the service's business. Never dials while a link is up or an outgoing one is still in its handshake.
 */
export interface DialerHooks {
  adopt(conn: PeerConnection): void;
  /** A link is up, or one we dialled is still being set up: no dialling now. */
  busy(): boolean;
  /** An attempt found the peer unreachable or timed out: ISC's "disconnect" transition (ends startup at once). */
  unreachable(): void;
  /** A rate-limited log line (a peer that stays down must not write one line every few seconds forever). */
  note(key: string, level: 'info' | 'error', line: string): void;
}

export class Dialer {
  private dialing = false;
  /** Attempts failed in a row (reset when a link comes up). */
  private failures = 0;
  private running = false;

  constructor(
    private readonly transport: PeerTransport,
    private readonly timers: KeyedTimers,
    private readonly counters: Counters,
    private readonly log: FailoverLogger,
    private readonly label: string,
    private readonly hooks: DialerHooks,
  ) {}

  async start(): Promise<void> {
    this.running = true;
    await this.listen();
    this.dial();
  }

  stop(): void {
    this.running = false;
    this.timers.cancel('reconnect');
    this.timers.cancel('listen');
  }

  /** A link came up: the next failure starts the backoff from its first step. */
  linked(): void {
    this.failures = 0;
    this.timers.cancel('reconnect');
  }

  /** Dials again after `outcome` (a lost link, a connection that failed in its handshake). */
  after(outcome: DialOutcome): void {
    if (!this.running || this.dialing || this.timers.has('reconnect') || this.hooks.busy()) return;
    if (outcome !== 'lost') this.failures++;
    this.timers.set('reconnect', reconnectDelayMs(outcome, this.failures), () => this.dial());
  }

  private async listen(): Promise<void> {
    if (!this.running) return;
    try {
      await this.transport.listen((c) => this.hooks.adopt(c));
      this.log.info(`${this.label}: listening on ${this.transport.localEndpoint}`);
    } catch (err) {
      // Our address not (yet) on an interface, or the port taken: try again later, as ISC after a local failure.
      this.counters.inc('listen-failed');
      const delay = reconnectDelayMs('local', 1);
      this.log.error(
        `${this.label}: cannot listen on ${this.transport.localEndpoint}: ${message(err)}; retrying in ${delay / 1000} s`,
      );
      this.timers.set('listen', delay, () => void this.listen());
    }
  }

  private dial(): void {
    if (!this.running || this.dialing || this.hooks.busy()) return;
    this.dialing = true;
    this.timers.cancel('reconnect');
    this.transport.dial().then(
      (c) => {
        this.dialing = false;
        if (!this.running) return c.close();
        this.hooks.adopt(c);
      },
      (err: unknown) => {
        this.dialing = false;
        if (!this.running) return;
        const f: DialFailure = isDialFailure(err)
          ? err
          : { kind: 'network', code: 'EIO', message: message(err) };
        this.failures++;
        this.counters.inc(`dial-failed.${f.kind}`);
        const delay = reconnectDelayMs(f.kind, this.failures);
        this.hooks.note(
          `dial.${f.code}`,
          f.kind === 'local' ? 'error' : 'info',
          `${this.label}: connect to ${this.transport.peerEndpoint} failed: ${f.code}; next attempt in ${delay / 1000} s`,
        );
        this.timers.set('reconnect', delay, () => this.dial());
        // ISC runs its "disconnect" transition when the peer is unreachable or the attempt timed out; not when it
        // was refused (a host that refuses is up, and will dial us when its server starts).
        if (f.code === 'EHOSTUNREACH' || f.code === 'ETIMEDOUT' || f.code === 'timeout')
          this.hooks.unreachable();
      },
    );
  }
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

import type { PeerConnection } from '../io/transport.js';
import { encodeMessage } from '../wire/codec.js';
import { takeMessages, type FrameResult } from '../wire/frame.js';
import type { FailoverMessage } from '../wire/types.js';

/** ISC's link startup timeout: a new connection has 15 s to finish CONNECT/CONNECTACK. */
export const LINK_STARTUP_MS = 15_000;

/**
 * One TCP connection to the peer and where it stands: 'handshake' until CONNECT/CONNECTACK are exchanged, 'up'
 * while it is THE link of the relationship, 'closed' after. Keeps the bytes of a message not yet complete.
 */
export class Link {
  phase: 'handshake' | 'up' | 'closed' = 'handshake';
  private rest: Uint8Array = new Uint8Array(0);

  constructor(
    readonly id: number,
    readonly conn: PeerConnection,
  ) {}

  /** The whole messages this chunk completes (and an error that ends the stream). */
  take(chunk: Uint8Array): FrameResult {
    const r = takeMessages(this.rest, chunk);
    this.rest = r.rest;
    return r;
  }

  encode(m: FailoverMessage): Uint8Array {
    return encodeMessage(m);
  }

  close(): void {
    this.phase = 'closed';
    this.conn.close();
  }
}

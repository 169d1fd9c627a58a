/*
 * What the failover service needs from a network: a listener that hands over connections from the configured peer
 * only, and one outgoing attempt at a time. The real one is TCP (tcp.ts); tests join two services through an
 * in-memory one (test-vectors/memory-network.ts). Mechanics only: when to dial again is the service's decision
 * (service/reconnect.ts), what the bytes mean is the codec's.
 */

/** One established connection to or from the peer. */
export interface PeerConnection {
  /** 'in': the peer connected to our listener; 'out': we dialled. */
  readonly direction: 'in' | 'out';
  /** `address:port` of each end, for logs and status. */
  readonly local: string;
  readonly remote: string;
  /** Queues bytes for sending; ignored once the connection is closing. Never throws. */
  send(bytes: Uint8Array): void;
  /** Sends what is queued, then closes. The close handler runs once, whoever closed. */
  close(): void;
  /** Bytes in arrival order, cut anywhere (the framer puts messages back together). */
  onData(handler: (chunk: Uint8Array) => void): void;
  /** The connection is gone (`why`: the error, if it ended on one). Runs once. */
  onClose(handler: (why?: string) => void): void;
}

/**
 * Why an outgoing attempt failed. 'local': this host could not even try (our address is not configured, no route,
 * permission): ISC's "immediate failure", retried after 90 s. 'network': the peer did not answer or refused (not
 * listening yet, host unreachable, timed out): retried sooner.
 */
export interface DialFailure {
  kind: 'local' | 'network';
  /** errno name (ECONNREFUSED, EADDRNOTAVAIL, ETIMEDOUT...) or 'timeout'. */
  code: string;
  message: string;
}

export interface PeerTransport {
  /** Where we listen and whom we dial, for logs. */
  readonly localEndpoint: string;
  readonly peerEndpoint: string;
  /**
   * Starts listening. Connections from any address but the peer's are closed by the transport (counted and
   * logged there, as ISC's "failover: listener: no matching state"); the others are handed to `onConnection`.
   */
  listen(onConnection: (c: PeerConnection) => void): Promise<void>;
  /** One outgoing connection from our address to the peer's. Rejects with a DialFailure. */
  dial(): Promise<PeerConnection>;
  /** Stops listening and abandons a pending dial; open connections are the caller's to close. */
  close(): Promise<void>;
  /** The transport's own counters (refused sources, dial failures by code), merged into the status. */
  counters(): Record<string, number>;
}

export function isDialFailure(v: unknown): v is DialFailure {
  return (
    typeof v === 'object' &&
    v !== null &&
    ((v as DialFailure).kind === 'local' || (v as DialFailure).kind === 'network') &&
    typeof (v as DialFailure).code === 'string'
  );
}

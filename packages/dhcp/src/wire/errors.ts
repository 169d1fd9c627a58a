/**
 * Why a packet was dropped. Each reason is also the name of the counter the io layer bumps, so names are stable,
 * short and kebab-case (STYLE.md: one path for bad input: count under a named reason, drop).
 */
export type DropReason =
  // DHCP message (RFC 2131/2132/3396)
  | 'truncated-header' // shorter than the 236-byte fixed header + 4-byte cookie field
  | 'oversize' // longer than the largest UDP payload over IPv4 (65507)
  | 'bad-op' // op is neither BOOTREQUEST nor BOOTREPLY
  | 'bad-hlen' // hlen > 16, chaddr cannot hold it
  | 'hops-exceeded' // RFC 1542 4.1.1: relays discard hops > 16; so do we
  | 'truncated-option' // an option code with no room for its length octet
  | 'option-overrun' // an option length running past the end of its area
  | 'bad-option-length' // message type (53) not exactly one octet
  | 'bad-overload-value' // option 52 not one octet of value 1, 2 or 3
  | 'overload-loop' // option 52 found inside file or sname
  // Ethernet / IPv4 / UDP frames
  | 'frame-truncated'
  | 'not-ipv4'
  | 'bad-ip-header'
  | 'bad-ip-checksum'
  | 'ip-fragment'
  | 'not-udp'
  | 'bad-udp-length'
  | 'bad-udp-checksum';

export interface WireError {
  error: true;
  reason: DropReason;
  detail: string;
}

export function wireError(reason: DropReason, detail: string): WireError {
  return { error: true, reason, detail };
}

export function isWireError(v: unknown): v is WireError {
  return typeof v === 'object' && v !== null && (v as { error?: unknown }).error === true;
}

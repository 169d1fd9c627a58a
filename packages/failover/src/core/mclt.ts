/**
 * The maximum client lead time (MCLT) rule, as ISC dhcpd 4.4 applies it when it answers a client (server/dhcp.c,
 * ack_lease, "Lease times less than MCLT are not a concern"). Pure arithmetic on u32 seconds since the epoch; the
 * caller brings the lease's tsfp (the potential expiry the partner has acknowledged) and the clock.
 *
 * Why: a server may promise a client at most MCLT beyond what its partner already knows about (tsfp), so that after
 * a failure the partner can wait MCLT past any expiry it has heard of and be sure no client still holds the address.
 */

export interface LeaseTimeRequest {
  /** The lease time the DHCP server would give without failover (already bounded by min/max/default). */
  desired: number;
  /** Now, seconds since the epoch. */
  now: number;
  /** The lease's time sent from partner: the potential expiry the partner has acknowledged (0 if none). */
  tsfp: number;
  mclt: number;
}

/**
 * The lease time we may give. A desired time of at most MCLT is always allowed. Beyond that, if the partner knows of
 * no potential expiry still in the future (tsfp <= now), only MCLT; otherwise the desired time as long as it ends
 * by tsfp + MCLT, else just up to tsfp + MCLT.
 */
export function allowedLeaseTime({ desired, now, tsfp, mclt }: LeaseTimeRequest): number {
  if (desired <= mclt) return desired;
  if (tsfp <= now) return mclt;
  if (now + desired > tsfp + mclt) return tsfp - now + mclt;
  return desired;
}

export interface AckTimes {
  /** The lease time to give the client. */
  leaseTime: number;
  /** Time sent to partner: the potential expiry we send in the BNDUPD (ISC's lease tstp). */
  tstp: number;
  /** The lease's tsfp after the ACK: lowered to tstp if tstp is earlier, so no old, longer expiry is used. */
  tsfp: number;
}

/** Largest time a u32 option can carry. */
const MAX_TIME = 0xffffffff;

/**
 * What a DHCPACK does to the lease's times: the allowed lease time, and a potential expiry of now + the DESIRED
 * time + half the granted one (ISC's estimate of when the client will renew, so that the renewal can get the desired
 * time once the partner has acknowledged it). An OFFER changes neither tstp nor tsfp.
 */
export function ackTimes(req: LeaseTimeRequest): AckTimes {
  const leaseTime = allowedLeaseTime(req);
  const tstp = Math.min(MAX_TIME, req.now + req.desired + Math.floor(leaseTime / 2));
  return { leaseTime, tstp, tsfp: tstp < req.tsfp ? tstp : req.tsfp };
}

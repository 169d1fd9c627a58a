import type { Ip4 } from '@hadhcp/common';
import { isBindingStatus, RejectReason } from '../wire/constants.js';
import type { BndUpdMessage } from '../wire/types.js';
import type { LeaseSink, LeaseVerdict } from './types.js';

/**
 * The partner's binding updates, recorded and acknowledged, not yet applied to a lease store (the next step joins
 * them to @hadhcp/leases with ISC's binding checks). It still refuses what ISC refuses before looking at any
 * lease: an update without an IP address or binding status (reject 3, "missing binding information"), and a
 * binding status ISC does not know (ISC would exit on one of its own).
 */
export class RecordingLeaseSink implements LeaseSink {
  /** The last update per address (what a lease store would hold), in arrival order of first sight. */
  readonly leases = new Map<Ip4, BndUpdMessage>();
  /** Updates accepted, all addresses together. */
  accepted = 0;

  constructor(private readonly onUpdate?: (msg: BndUpdMessage) => void) {}

  update(msg: BndUpdMessage): LeaseVerdict {
    if (msg.assignedIp === undefined)
      return { accept: false, reason: RejectReason.MISSING_BINDINFO, message: 'no assigned IP address' };
    if (msg.bindingStatus === undefined)
      return { accept: false, reason: RejectReason.MISSING_BINDINFO, message: 'no binding status' };
    if (!isBindingStatus(msg.bindingStatus))
      return {
        accept: false,
        reason: RejectReason.MISSING_BINDINFO,
        message: `unknown binding status ${msg.bindingStatus}`,
      };
    this.leases.set(msg.assignedIp, msg);
    this.accepted++;
    this.onUpdate?.(msg);
    return { accept: true };
  }

  isEmpty(): boolean {
    return this.leases.size === 0;
  }
}

import type { FailoverPeerStatus } from '../src/service/types.js';

/**
 * One relationship as FailoverPeerService.status() shows it (normal, linked as primary), for the tests of the
 * status' readers: the control commands and the CLI. Typed as the service's, so a change of the shape breaks them.
 */
export function peerStatusFixture(name: string, over: Partial<FailoverPeerStatus> = {}): FailoverPeerStatus {
  return {
    name,
    role: 'primary',
    state: 'normal',
    since: '2026-12-02T11:00:00.000Z',
    partnerState: 'normal',
    partnerSince: '2026-12-02T11:00:01.000Z',
    mclt: 3600,
    serve: 'all',
    connected: true,
    link: {
      local: '10.0.0.2:647',
      remote: '10.0.0.3:40112',
      direction: 'in',
      since: '2026-12-02T11:00:00.000Z',
    },
    lastContact: '2026-12-02T14:00:00.000Z',
    partner: { maxUnacked: 10, receiveTimer: 60, vendorClass: 'isc-V4.4.3' },
    primaryBuckets: 128,
    updates: { queued: 0, unacked: 0, requestsOpen: 0, lazy: false },
    pool: undefined,
    pools: [],
    reclaimAt: undefined,
    counters: {},
    ...over,
  };
}

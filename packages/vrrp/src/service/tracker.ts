/**
 * vrrp_script result tracking, keepalived's rules: a script starts unknown and its first result decides; after that
 * it takes `rise` consecutive successes to become good and `fall` consecutive failures to become bad.
 */
export type TrackStatus = 'init' | 'good' | 'bad';

export interface TrackState {
  status: TrackStatus;
  /** Consecutive results against the current status. */
  streak: number;
}

export const initialTrack: TrackState = { status: 'init', streak: 0 };

export function trackResult(s: TrackState, ok: boolean, rise: number, fall: number): TrackState {
  if (s.status === 'init') return { status: ok ? 'good' : 'bad', streak: 0 };
  const agrees = (s.status === 'good') === ok;
  if (agrees) return { status: s.status, streak: 0 };
  const streak = s.streak + 1;
  const need = ok ? rise : fall;
  if (streak >= Math.max(1, need)) return { status: ok ? 'good' : 'bad', streak: 0 };
  return { status: s.status, streak };
}

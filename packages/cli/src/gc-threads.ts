/*
 * V8 collects garbage partly on background threads (concurrent marking, parallel scavenging, concurrent sweeping).
 * With more than one CPU that work runs beside the event loop. With exactly one (the daemon pinned to a core, or a
 * one-core router), those threads only take turns with the event loop: the scheduler gives each runnable thread its
 * slice, and with four of them marking at once the event loop waited 16-20 ms for its turn (perf sched in the
 * fixed-rate DHCP bench, 2026-12-03): most of the ACK tail at p99.9. There the collector is better run on the main
 * thread itself, in the incremental steps V8 interleaves with JavaScript: the same work, without the waits
 * (docs/benchmarks.md).
 *
 * The choice is made where node starts, by `bin/hadhcp` (`run` on one CPU: node --single-threaded-gc): V8 takes
 * its garbage-collector flags only before the heap exists (set later with v8.setFlagsFromString, they crashed
 * node in a check of its C++ heap's marker).
 */

export const SINGLE_THREADED_GC = '--single-threaded-gc';

/** The log line saying how this process collects garbage (`execArgv`: node's own flags; `cpus`: its CPUs). */
export function gcThreadsNote(execArgv: readonly string[], cpus: number): string {
  if (execArgv.includes(SINGLE_THREADED_GC))
    return `node ${SINGLE_THREADED_GC} (${cpus === 1 ? 'one CPU' : `${cpus} CPUs`}): V8 collects garbage on the main thread only`;
  return cpus === 1
    ? 'one CPU, and V8 collects garbage on background threads too: they take turns with the event loop (bin/hadhcp starts `run` with --single-threaded-gc on one CPU)'
    : `${cpus} CPUs: V8 collects garbage on background threads too`;
}

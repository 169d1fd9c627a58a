// Lab prerequisites. Outside CI a machine without root or the peer binaries skips the lab with a reason;
// in CI (process.env.CI set) the same gap is a failure, so a broken runner cannot pass by skipping.
import { execFileSync } from 'node:child_process';
import { it } from 'vitest';

export interface Requirements {
  /** Binaries that must be on PATH (e.g. 'dhcpd', 'keepalived'). */
  commands?: string[];
}

function hasCommand(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Returns why the lab cannot run here, or undefined when it can. */
export function labUnavailable(req: Requirements = {}): string | undefined {
  if (process.platform !== 'linux') return 'lab tests need Linux network namespaces';
  if (process.getuid?.() !== 0) return 'lab tests need root (network namespaces, raw sockets)';
  if (!hasCommand('ip')) return 'iproute2 (ip) is not installed: run scripts/setup.sh';
  const missing = (req.commands ?? []).filter((c) => !hasCommand(c));
  if (missing.length > 0) return `missing peer binaries: ${missing.join(', ')}: run scripts/setup.sh`;
  return undefined;
}

/**
 * Call at the top of a lab test file; returns true when the file's suites must be skipped:
 *   const skip = requireRoot({ commands: ['dhcpd'] });
 *   describe.skipIf(skip)('...', () => { ... });
 * In CI it registers one failing test naming the missing prerequisite instead of skipping quietly.
 */
export function requireRoot(req: Requirements = {}): boolean {
  const why = labUnavailable(req);
  if (why === undefined) return false;
  if (process.env.CI) {
    it('lab prerequisites', () => {
      throw new Error(`CI is set and the lab cannot run: ${why}`);
    });
  } else {
    console.warn(`[lab] skipping: ${why}`);
    it.skip(`lab skipped: ${why}`, () => {});
  }
  return true;
}

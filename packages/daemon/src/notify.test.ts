import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { systemdStatusLine, SystemdNotifier, watchdogIntervalMs, type NotifyEnv } from './notify.js';

const quietLog = { warn: vi.fn() };

describe('watchdogIntervalMs', () => {
  it('is half of WATCHDOG_USEC, for this process only', () => {
    expect(watchdogIntervalMs({ WATCHDOG_USEC: '30000000' }, 42)).toBe(15_000);
    expect(watchdogIntervalMs({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: '42' }, 42)).toBe(15_000);
    expect(watchdogIntervalMs({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: '43' }, 42)).toBeUndefined();
    expect(watchdogIntervalMs({}, 42)).toBeUndefined();
    expect(watchdogIntervalMs({ WATCHDOG_USEC: '0' }, 42)).toBeUndefined();
    expect(watchdogIntervalMs({ WATCHDOG_USEC: 'soon' }, 42)).toBeUndefined();
  });
});

describe('SystemdNotifier', () => {
  afterEach(() => vi.useRealTimers());

  it('is not built without NOTIFY_SOCKET (a terminal, a test): nothing is sent', () => {
    const send = vi.fn();
    const env: NotifyEnv = { WATCHDOG_USEC: '1000000' };
    expect(SystemdNotifier.fromEnv(env, quietLog, send)).toBeUndefined();
    expect(send).not.toHaveBeenCalled();
  });

  it('takes the variables out of the environment, so scripts it runs do not inherit them', () => {
    const env: NotifyEnv = { NOTIFY_SOCKET: '/run/x', WATCHDOG_USEC: '1000000', WATCHDOG_PID: '7' };
    expect(SystemdNotifier.fromEnv(env, quietLog, vi.fn(), 7)).toBeDefined();
    expect(env).toEqual({});
  });

  it('says READY=1, pings WATCHDOG=1 every WATCHDOG_USEC/2 with STATUS= when it changed, and STOPPING=1', () => {
    vi.useFakeTimers();
    const sent: string[] = [];
    const env: NotifyEnv = { NOTIFY_SOCKET: '@sd', WATCHDOG_USEC: '2000000' };
    const n = SystemdNotifier.fromEnv(env, quietLog, (path, m) => sent.push(`${path} ${m}`), 1)!;
    let status = 'VRRP VI_1 BACKUP';
    n.ready(() => status);
    expect(sent).toEqual(['@sd READY=1\nSTATUS=VRRP VI_1 BACKUP']);
    vi.advanceTimersByTime(999);
    expect(sent).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(sent[1]).toBe('@sd WATCHDOG=1');
    status = 'VRRP VI_1 MASTER';
    vi.advanceTimersByTime(1000);
    expect(sent[2]).toBe('@sd WATCHDOG=1\nSTATUS=VRRP VI_1 MASTER');
    n.stopping();
    expect(sent[3]).toBe('@sd STOPPING=1\nSTATUS=stopping');
    n.close();
    vi.advanceTimersByTime(10_000);
    expect(sent).toHaveLength(4);
  });

  it('without a watchdog sends only STATUS= changes', () => {
    vi.useFakeTimers();
    const sent: string[] = [];
    const n = SystemdNotifier.fromEnv({ NOTIFY_SOCKET: '/run/n' }, quietLog, (_p, m) => sent.push(m))!;
    let status = 'a';
    n.ready(() => status);
    vi.advanceTimersByTime(60_000);
    expect(sent).toEqual(['READY=1\nSTATUS=a']);
    status = 'b';
    vi.advanceTimersByTime(10_000);
    expect(sent).toEqual(['READY=1\nSTATUS=a', 'STATUS=b']);
    n.close();
  });

  it('logs a notification that cannot be sent once, and never throws', () => {
    vi.useFakeTimers();
    const log = { warn: vi.fn() };
    const n = SystemdNotifier.fromEnv({ NOTIFY_SOCKET: '/run/gone', WATCHDOG_USEC: '1000' }, log, () => {
      throw new Error('ECONNREFUSED');
    })!;
    n.ready(() => 'x');
    vi.advanceTimersByTime(10);
    expect(log.warn).toHaveBeenCalledTimes(2); // ready, then the first tick; later ticks are quiet
    expect(log.warn.mock.calls[1]![0]).toMatch(
      /systemd notification \(tick\) to \/run\/gone failed: ECONNREFUSED/,
    );
    n.close();
  });
});

describe('systemdStatusLine', () => {
  it('sums up DHCP, VRRP, failover and a failed store in one line', () => {
    expect(
      systemdStatusLine({
        dhcp: {
          counters: { toJSON: () => ({}) },
          coreCounters: () => ({}),
          table: { stateCounts: () => ({ active: 3 }) },
          status: () => ({ serving: true }),
        },
        vrrp: { status: () => [{ name: 'VI_1', state: 'MASTER' } as never] },
        failover: {
          status: () => [{ name: 'peer', state: 'normal', partnerState: 'normal', connected: true } as never],
        },
        store: { stats: () => ({ failed: 'EIO' }) as never },
      }),
    ).toBe(
      'DHCP serving, 3 active lease(s); VRRP VI_1 MASTER; failover peer normal, partner normal; lease store FAILED',
    );
    expect(systemdStatusLine({})).toBe('running');
  });
});

const hasPython = spawnSync('python3', ['-c', '']).status === 0;

/**
 * A unix datagram socket bound at `address` (a path, or '@name' in the abstract namespace) by a python3 child, as
 * systemd's NOTIFY_SOCKET is; resolves with the first `count` datagrams it receives.
 */
async function receiver(address: string, count: number): Promise<{ messages: Promise<string[]> }> {
  const py = [
    'import json, socket, sys',
    's = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)',
    "a = sys.argv[1]; s.bind('\\0' + a[1:] if a.startswith('@') else a)",
    "print('bound', flush=True)",
    'for _ in range(int(sys.argv[2])): print(json.dumps(s.recv(4096).decode()), flush=True)',
  ].join('\n');
  const child = spawn('python3', ['-c', py, address, String(count)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  expect((await lines.next()).value).toBe('bound');
  const messages = (async () => {
    const out: string[] = [];
    for (let i = 0; i < count; i++) out.push(JSON.parse((await lines.next()).value as string) as string);
    return out;
  })();
  return { messages };
}

describe.skipIf(!hasPython)('sdNotify through the native addon, to a real unix datagram socket', () => {
  it('delivers READY=1 and then WATCHDOG=1 to a socket path', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hadhcp-notify-'));
    try {
      const path = join(dir, 'notify.sock');
      const r = await receiver(path, 2);
      const n = SystemdNotifier.fromEnv({ NOTIFY_SOCKET: path, WATCHDOG_USEC: '100000' }, quietLog)!;
      n.ready(() => 'up');
      const messages = await r.messages;
      n.close();
      expect(messages).toEqual(['READY=1\nSTATUS=up', 'WATCHDOG=1']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('delivers to an abstract socket (NOTIFY_SOCKET=@name)', async () => {
    const name = `@hadhcp-notify-test-${process.pid}-${Date.now()}`;
    const r = await receiver(name, 1);
    const n = SystemdNotifier.fromEnv({ NOTIFY_SOCKET: name }, quietLog)!;
    n.stopping();
    expect(await r.messages).toEqual(['STOPPING=1\nSTATUS=stopping']);
  });

  it('tells a missing socket apart (logged, not thrown)', () => {
    const log = { warn: vi.fn() };
    SystemdNotifier.fromEnv({ NOTIFY_SOCKET: '/nonexistent/hadhcp/notify' }, log)!.stopping();
    expect(log.warn.mock.calls[0]![0]).toMatch(/sendto\(\/nonexistent\/hadhcp\/notify\): No such file/);
  });
});

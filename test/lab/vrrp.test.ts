// Two hadhcp VRRP nodes (`hadhcp run --keepalived`) on one bridged segment, real processes in their own namespaces.
import { afterEach, describe, expect, it } from 'vitest';
import { requireRoot } from './lib/guard.js';
import { Lab } from './lib/lab.js';
import { hasVip, messages, nodeStatus, segment, startNode, until, VIP, vipHolders } from './vrrp-node.js';

const skip = requireRoot({ commands: ['tcpdump', 'python3'] });

// RFC 3768 6.1 with advert_int 1: Skew(90) = 166/256 s, Master_Down(90) = 3 s + Skew.
const SKEW_90 = 648;
const MASTER_DOWN_90 = 3648;
const SLACK = 700;

describe.skipIf(skip)('hadhcp VRRP pair', () => {
  let lab: Lab;
  afterEach(async () => {
    await lab?.cleanup();
  });

  async function pair(): Promise<{
    a: Awaited<ReturnType<typeof startNode>>;
    b: Awaited<ReturnType<typeof startNode>>;
  }> {
    lab = new Lab();
    await segment(lab, ['r1', 'r2', 'r3']);
    const a = await startNode(lab, 'r1', { priority: 100 });
    const b = await startNode(lab, 'r2', { priority: 90 });
    await a.proc.waitForLine(/Entering MASTER STATE/, 8000);
    await until(async () => (await vipHolders(lab, ['r1', 'r2'])).length === 1, 3000, 'VIP on one node');
    return { a, b };
  }

  it('elects the higher priority; the VIP exists on exactly one node and a GARP announces it', async () => {
    lab = new Lab();
    await segment(lab, ['r1', 'r2']);
    const dump = lab.spawn('sw', 'tcpdump', ['-l', '-n', '-i', 'sw0', 'arp']);
    await dump.waitForLine(/listening on/, 10_000);
    await startNode(lab, 'r1', { priority: 100 });
    const b = await startNode(lab, 'r2', { priority: 90 });
    await until(async () => hasVip(lab, 'r1'), 8000, 'VIP on r1');
    // A few more advert intervals: the backup must stay backup.
    await new Promise((r) => setTimeout(r, 2500));
    expect(await vipHolders(lab, ['r1', 'r2'])).toEqual(['r1']);
    expect(b.proc.output()).not.toMatch(/Entering MASTER STATE/);
    const vip = VIP.replace(/\./g, '\\.');
    await dump.waitForLine(new RegExp(`Request who-has ${vip} \\(ff:ff:ff:ff:ff:ff\\) tell ${vip}`), 3000);
  });

  it('graceful stop of the master: the backup takes over within Skew_Time', async () => {
    const { a } = await pair();
    const t0 = Date.now();
    a.proc.kill('SIGTERM');
    await until(async () => hasVip(lab, 'r2'), SKEW_90 + 3000, 'VIP on r2');
    const took = Date.now() - t0;
    expect(took).toBeLessThan(SKEW_90 + SLACK);
    await a.proc.exit;
    expect(await hasVip(lab, 'r1')).toBe(false);
  });

  it('kill -9 of the master: takeover within Master_Down_Interval, leftover VIP removed at restart', async () => {
    const { a } = await pair();
    const t0 = Date.now();
    a.proc.kill('SIGKILL');
    await until(async () => hasVip(lab, 'r2'), MASTER_DOWN_90 + 3000, 'VIP on r2');
    const took = Date.now() - t0;
    expect(took).toBeGreaterThan(MASTER_DOWN_90 - 1000 - SLACK); // the last advert may be up to 1 s old
    expect(took).toBeLessThan(MASTER_DOWN_90 + SLACK);
    await a.proc.exit;
    // kill -9 cannot clean up: the VIP is still on r1 (two holders now), until the restart removes it.
    expect(await hasVip(lab, 'r1')).toBe(true);
    const a2 = await startNode(lab, 'r1', { priority: 100 }, 'restart');
    expect(a2.proc.output()).toMatch(/removing leftover VIP 10\.77\.0\.10\/24 from eth0/);
    expect(await vipHolders(lab, ['r1', 'r2'])).toEqual(['r2']);
    // And with preempt it wins the VIP back, still on one node only.
    await a2.proc.waitForLine(/Entering MASTER STATE/, 8000);
    await until(
      async () => (await vipHolders(lab, ['r1', 'r2'])).join() === 'r1',
      3000,
      'VIP back on r1 only',
    );
  });

  it('drops, counts and logs wrong password, wrong VRID, TTL 254, a bad checksum and VRRPv3; a valid advert is obeyed', async () => {
    const { a, b } = await pair();
    const inject = async (args: string[]): Promise<void> => {
      const r = await lab.exec('r3', 'python3', ['-c', INJECT, ...args]);
      if (r.code !== 0) throw new Error(`inject failed: ${r.stderr}`);
    };
    // Priority 254 from 10.77.0.4: each would make the master step down if it were accepted. Four of each kind,
    // sent by one injector run per kind: the drops then fall inside one log rate-limit window (10 s) however
    // slowly a loaded machine starts python, so "logged once" is what the daemon does, not luck of timing.
    await inject(['--count', '4', '--pass', 'wrong']);
    await inject(['--count', '4', '--vrid', '52']);
    await inject(['--count', '4', '--ttl', '254']);
    await inject(['--count', '4', '--bad-checksum']);
    await inject(['--count', '4', '--v3']); // a VRRPv3 speaker (RFC 5798) on the segment, same VRID
    const kinds = [
      'auth-mismatch',
      'vrid-not-configured',
      'ttl-not-255',
      'bad-checksum',
      'version-mismatch-v3',
    ];
    await until(
      async () => {
        const d = ((await nodeStatus(a))[0]?.drops ?? {}) as Record<string, number>;
        return kinds.every((k) => (d[k] ?? 0) >= 4);
      },
      5000,
      'the 20 injected adverts to be received and counted',
    );
    expect(await vipHolders(lab, ['r1', 'r2'])).toEqual(['r1']);
    expect(a.proc.output()).not.toMatch(/Entering BACKUP STATE(?! \(init\))/);
    expect(b.proc.output()).not.toMatch(/Entering MASTER STATE/);
    const [st] = await nodeStatus(a);
    expect(st!.state).toBe('MASTER');
    const drops = st!.drops as Record<string, number>;
    expect(drops['auth-mismatch']).toBe(4);
    expect(drops['vrid-not-configured']).toBe(4);
    expect(drops['ttl-not-255']).toBe(4);
    expect(drops['bad-checksum']).toBe(4);
    expect(drops['version-mismatch-v3']).toBe(4);
    expect(st!.advertsReceived).toBe(0);
    // Each kind logged (keepalived's words where it has them), once: a flood must not flood the log.
    const said = messages(a);
    const once = (re: RegExp) => expect(said.filter((m) => re.test(m))).toHaveLength(1);
    once(
      /^\(VI_1\) wrong version\. Received 3 and expect 2 - VRRPv3 advert from 10\.77\.0\.4, VRID 51 priority 254/,
    );
    once(/^\(VI_1\) received an invalid passwd!$/);
    once(/^\(VI_1\) invalid TTL\/HL\. Received 254 and expect 255$/);
    once(/^\(VI_1\) dropped advert from 10\.77\.0\.4: bad-checksum/);
    // Control: the same injector with nothing wrong is a higher-priority master, and r1 yields to it.
    await inject([]);
    await until(async () => !(await hasVip(lab, 'r1')), 2000, 'r1 to yield to a valid priority-254 advert');
  });
});

// Crafts one VRRPv2 advert (RFC 3768 5.1), or with --v3 a VRRPv3 one (RFC 5798 5.1), with an IP header we control
// (TTL), from r3 (10.77.0.4).
const INJECT = `
import socket, struct, sys
a = sys.argv[1:]
opt = lambda k, d: a[a.index(k) + 1] if k in a else d
vrid, ttl, pw = int(opt('--vrid', '51')), int(opt('--ttl', '255')), opt('--pass', 'secret').encode()
def csum(b):
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff); s += s >> 16
    return ~s & 0xffff
src, dst = socket.inet_aton('10.77.0.4'), socket.inet_aton('224.0.0.18')
if '--v3' in a:
    # RFC 5798 5.1: no auth, 12-bit Max Adver Int in centiseconds, checksum over a pseudo-header too.
    body = struct.pack('!BBBBHH4s', 0x31, vrid, 254, 1, 100, 0, socket.inet_aton('${VIP}'))
    c = csum(src + dst + struct.pack('!BBH', 0, 112, len(body)) + body)
else:
    body = struct.pack('!BBBBBBH4s8s', 0x21, vrid, 254, 1, 1, 1, 0, socket.inet_aton('${VIP}'), pw.ljust(8, b'\\0')[:8])
    c = csum(body)
if '--bad-checksum' in a: c ^= 0x5a5a
body = body[:6] + struct.pack('!H', c) + body[8:]
ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0xc0, 20 + len(body), 0, 0, ttl, 112, 0, src, dst)
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 112)
s.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
s.setsockopt(socket.SOL_SOCKET, 25, b'eth0\\0')
for _ in range(int(opt('--count', '1'))):
    s.sendto(ip + body, ('224.0.0.18', 0))
`;

#!/usr/bin/env python3
# A DHCP client for the takeover bench (test/bench/takeover.ts) that retries every --interval seconds instead of a
# real client's 1-4 s, so the time it is first answered after a takeover is known to within that interval.
#   dora:  as a relay agent would send (from --src:67, giaddr --src, broadcast so the namespace's dhcrelay forwards it
#          to the VIP): DISCOVER (same xid, secs = seconds since the start, as a client counts them) until an OFFER,
#          then REQUEST until the ACK; a NAK starts over. Prints `ACK <epoch ms> <yiaddr> <server id>`.
#   renew: RENEWING (RFC 2131 4.3.2: ciaddr set, no requested address or server identifier), unicast from
#          --ciaddr:68 to --server:67, until an ACK. Prints `NAK <epoch ms>` for each NAK, `ACK <epoch ms> ...`.
# --wait-signal: print READY, then send nothing until SIGUSR1 (the bench starts the probe before the event it times
# and signals it once the event is done, so no packet can reach the old master before it is gone).
import random, select, signal, socket, struct, sys, time

a = sys.argv[1:]
mode = a[0]
opt = lambda k, d=None: a[a.index(k) + 1] if k in a else d
mac = bytes(int(x, 16) for x in opt('--mac').split(':'))
interval = float(opt('--interval', '0.1'))
timeout = float(opt('--timeout', '30'))
secs0 = int(opt('--secs', '-1'))
now_ms = lambda: int(time.time() * 1000)


def packet(kind, xid, secs, ciaddr='0.0.0.0', giaddr='0.0.0.0', opts=b''):
    hdr = struct.pack('!BBBBIHH4s4s4s4s16s64s128s', 1, 1, 6, 0, xid, min(secs, 65535), 0,
                      socket.inet_aton(ciaddr), b'\0' * 4, b'\0' * 4, socket.inet_aton(giaddr),
                      mac.ljust(16, b'\0'), b'', b'')
    o = bytes([53, 1, kind]) + bytes([61, 7, 1]) + mac + bytes([55, 3, 1, 3, 51]) + opts + b'\xff'
    return hdr + b'\x63\x82\x53\x63' + o


def parse(b):
    if len(b) < 240 or b[0] != 2 or b[236:240] != b'\x63\x82\x53\x63':
        return None
    xid = struct.unpack('!I', b[4:8])[0]
    yiaddr = socket.inet_ntoa(b[16:20])
    o, i = {}, 240
    while i < len(b) and b[i] != 255:
        if b[i] == 0:
            i += 1
            continue
        if i + 1 >= len(b):
            break
        o[b[i]] = b[i + 2:i + 2 + b[i + 1]]
        i += 2 + b[i + 1]
    t = o.get(53, b'\0')[0]
    sid = socket.inet_ntoa(o[54]) if 54 in o and len(o[54]) == 4 else '?'
    return xid, t, yiaddr, sid


s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
if '--wait-signal' in a:
    signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR1])
    print('READY', flush=True)
    signal.sigwait([signal.SIGUSR1])
t0 = time.time()
secs = lambda: secs0 if secs0 >= 0 else int(time.time() - t0)

if mode == 'dora':
    src = opt('--src')
    s.bind((src, 67))
    dst = ('255.255.255.255', 67)
    xid, state, offer, sent = random.getrandbits(32), 'discover', None, 0
    def send():
        if state == 'discover':
            s.sendto(packet(1, xid, secs(), giaddr=src), dst)
        else:
            extra = bytes([50, 4]) + socket.inet_aton(offer[0]) + bytes([54, 4]) + socket.inet_aton(offer[1])
            s.sendto(packet(3, xid, secs(), giaddr=src, opts=extra), dst)
else:
    ciaddr = opt('--ciaddr')
    s.bind((ciaddr, 68))
    dst = (opt('--server'), 67)
    xid, state, sent = random.getrandbits(32), 'renew', 0
    def send():
        s.sendto(packet(3, xid, secs(), ciaddr=ciaddr), dst)

next_at = 0.0
while time.time() - t0 < timeout:
    if time.time() >= next_at:
        try:
            send()
        except OSError as e:  # e.g. no route while a link is down: keep trying
            print('send failed', e, flush=True)
        sent += 1
        next_at = time.time() + interval
        if mode == 'dora' and state == 'request' and sent > 10:
            state, xid = 'discover', random.getrandbits(32)
    r, _, _ = select.select([s], [], [], max(0, next_at - time.time()))
    if not r:
        continue
    p = parse(s.recv(2048))
    if not p or p[0] != xid:
        continue
    _, t, yiaddr, sid = p
    if mode == 'dora' and state == 'discover' and t == 2:
        state, offer, sent, next_at = 'request', (yiaddr, sid), 0, 0
    elif t == 5:
        print('ACK %d %s %s sent=%d' % (now_ms(), yiaddr, sid, sent), flush=True)
        sys.exit(0)
    elif t == 6:
        print('NAK %d %s' % (now_ms(), sid), flush=True)
        if mode == 'dora':
            state, xid, next_at = 'discover', random.getrandbits(32), 0
print('TIMEOUT %d' % now_ms(), flush=True)
sys.exit(1)

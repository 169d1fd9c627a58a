// The conformance test's packet scripts (test/lab/conformance.test.ts), written for it against
// fixtures/conformance/dhcpd.conf. Each scenario uses its own client MACs, so that the scenarios, run in this order
// on one server, leave each other alone; the few that share a pool (exhaustion) have it to themselves.
import { MessageType as T } from '../../../packages/dhcp/src/index.js';
import { yiaddrOf, type Ctx, type Req, type Scenario } from './conformance-run.js';

const DIRECT_SERVER = '10.1.0.1';
const RELAYED_SERVER = '10.0.0.2';
/** dhclient's default list (Debian 12). */
const DHCLIENT_PRL = [1, 28, 2, 3, 15, 6, 119, 12, 44, 47, 26, 121, 42];
/** Every option the relayed subnet configures, and then some it does not. */
const MANY = [1, 3, 6, 15, 28, 42, 17, 14, 18, 44, 119];
const AGENT = { circuit: 'eth1:vlan42', remote: 'relay-7' };
const BROADCAST = 0x8000;

const mac = (s: number, n: number): string =>
  `02:00:00:01:${s.toString(16).padStart(2, '0')}:${n.toString(16).padStart(2, '0')}`;

/** DISCOVER then REQUEST (SELECTING), as a client does; returns the address acknowledged (or offered). */
async function dora(ctx: Ctx, via: 'direct' | 'relay', base: Omit<Req, 'type'>, tag = ''): Promise<string> {
  const send = via === 'direct' ? ctx.direct : ctx.relay;
  const offer = await send(`DISCOVER${tag}`, { ...base, type: T.DISCOVER });
  const a = yiaddrOf(offer);
  const serverId = via === 'direct' ? DIRECT_SERVER : RELAYED_SERVER;
  await send(`REQUEST${tag} (selecting)`, { ...base, type: T.REQUEST, requested: a, serverId });
  return a;
}

/** Sets the length octet of the first instance of `code` in the options field (the request is broken on purpose). */
function breakOptionLength(code: number, len: number) {
  return (b: Uint8Array): Uint8Array => {
    const out = b.slice();
    for (let i = 240; i < out.length - 1;) {
      if (out[i] === 0) {
        i++;
        continue;
      }
      if (out[i] === 255) break;
      if (out[i] === code) {
        out[i + 1] = len;
        return out;
      }
      i += 2 + out[i + 1]!;
    }
    return out;
  };
}

export const SCENARIOS: Scenario[] = [
  {
    name: 'direct DORA, broadcast flag',
    run: (ctx) =>
      dora(ctx, 'direct', { mac: mac(1, 1), flags: BROADCAST, prl: [1, 3, 6, 15, 28, 51, 58, 59] }),
  },
  {
    name: 'direct DORA, unicast to chaddr',
    run: (ctx) => dora(ctx, 'direct', { mac: mac(2, 1), prl: DHCLIENT_PRL, hostName: 'client-two' }),
  },
  {
    name: 'RENEWING (unicast from ciaddr) right after the ACK',
    run: async (ctx) => {
      const base = { mac: mac(3, 1), prl: DHCLIENT_PRL };
      const a = await dora(ctx, 'direct', base);
      await ctx.sleep(2500);
      await ctx.direct('REQUEST (renewing)', { ...base, type: T.REQUEST, ciaddr: a }, { unicast: true });
    },
  },
  {
    name: 'REBINDING (broadcast, ciaddr)',
    run: async (ctx) => {
      const base = { mac: mac(4, 1), prl: DHCLIENT_PRL };
      const a = await dora(ctx, 'direct', base);
      await ctx.direct('REQUEST (rebinding)', { ...base, type: T.REQUEST, ciaddr: a });
    },
  },
  {
    name: 'INIT-REBOOT of its own lease',
    run: async (ctx) => {
      const base = { mac: mac(5, 1), prl: DHCLIENT_PRL };
      const a = await dora(ctx, 'direct', base);
      await ctx.direct('REQUEST (init-reboot)', { ...base, type: T.REQUEST, requested: a });
    },
  },
  {
    name: 'INIT-REBOOT on the wrong network (NAK)',
    literals: ['10.9.9.9'],
    run: async (ctx) => {
      await ctx.direct('REQUEST 10.9.9.9 (init-reboot)', {
        mac: mac(6, 1),
        type: T.REQUEST,
        requested: '10.9.9.9',
        prl: DHCLIENT_PRL,
      });
    },
  },
  {
    name: 'INIT-REBOOT, unknown client, free pool address',
    literals: ['10.1.0.90'],
    run: async (ctx) => {
      await ctx.direct('REQUEST 10.1.0.90 (init-reboot)', {
        mac: mac(7, 1),
        type: T.REQUEST,
        requested: '10.1.0.90',
        prl: DHCLIENT_PRL,
      });
    },
  },
  {
    name: 'INIT-REBOOT, unknown client, subnet address in no range',
    literals: ['10.1.0.200'],
    run: async (ctx) => {
      await ctx.direct('REQUEST 10.1.0.200 (init-reboot)', {
        mac: mac(8, 1),
        type: T.REQUEST,
        requested: '10.1.0.200',
        prl: DHCLIENT_PRL,
      });
    },
  },
  {
    name: "INIT-REBOOT for another client's address (NAK)",
    run: async (ctx) => {
      const a = await dora(ctx, 'direct', { mac: mac(9, 1), prl: DHCLIENT_PRL });
      await ctx.direct('other client: REQUEST (init-reboot)', {
        mac: mac(9, 2),
        type: T.REQUEST,
        requested: a,
        prl: DHCLIENT_PRL,
      });
    },
  },
  {
    name: 'RELEASE, then DISCOVER again',
    run: async (ctx) => {
      const base = { mac: mac(10, 1), prl: DHCLIENT_PRL };
      const a = await dora(ctx, 'direct', base);
      await ctx.direct(
        'RELEASE',
        { ...base, type: T.RELEASE, ciaddr: a, serverId: DIRECT_SERVER },
        { unicast: true },
      );
      await ctx.direct('DISCOVER again', { ...base, type: T.DISCOVER });
    },
  },
  {
    name: 'DECLINE, then DISCOVER again',
    run: async (ctx) => {
      const base = { mac: mac(11, 1), prl: DHCLIENT_PRL };
      const a = await dora(ctx, 'direct', base);
      await ctx.direct('DECLINE', { ...base, type: T.DECLINE, requested: a, serverId: DIRECT_SERVER });
      await ctx.direct('DISCOVER again', { ...base, type: T.DISCOVER });
    },
  },
  {
    name: 'INFORM (direct, ciaddr set)',
    literals: ['10.1.0.30'],
    run: async (ctx) => {
      await ctx.direct(
        'INFORM',
        { mac: mac(12, 1), type: T.INFORM, ciaddr: '10.1.0.30', prl: [1, 3, 6, 15, 28] },
        { unicast: true },
      );
    },
  },
  {
    name: 'REQUEST naming another server',
    literals: ['10.1.0.254'],
    run: async (ctx) => {
      const base = { mac: mac(13, 1), prl: DHCLIENT_PRL };
      const offer = await ctx.direct('DISCOVER', { ...base, type: T.DISCOVER });
      await ctx.direct('REQUEST (server id 10.1.0.254)', {
        ...base,
        type: T.REQUEST,
        requested: yiaddrOf(offer),
        serverId: '10.1.0.254',
      });
    },
  },
  {
    name: 'client identifiers (61) on one MAC',
    run: async (ctx) => {
      const id = (s: string): number[] => [0, ...Buffer.from(s)];
      const m = mac(14, 1);
      await dora(ctx, 'direct', { mac: m, clientId: id('client-one'), prl: DHCLIENT_PRL }, ' id one');
      await ctx.direct('DISCOVER id two', { mac: m, clientId: id('client-two'), type: T.DISCOVER });
      await ctx.direct('DISCOVER without id', { mac: m, type: T.DISCOVER, prl: DHCLIENT_PRL });
      await ctx.direct('DISCOVER id one again', { mac: m, clientId: id('client-one'), type: T.DISCOVER });
    },
  },
  {
    name: 'relayed DORA with option 82',
    run: (ctx) => dora(ctx, 'relay', { mac: mac(15, 1), prl: DHCLIENT_PRL, agent: AGENT }),
  },
  {
    name: 'PRL with 3 before 1',
    run: async (ctx) => {
      await ctx.relay('DISCOVER', { mac: mac(16, 1), type: T.DISCOVER, prl: [3, 1, 6, 15] });
    },
  },
  {
    name: 'PRL without 1',
    run: async (ctx) => {
      await ctx.relay('DISCOVER', { mac: mac(17, 1), type: T.DISCOVER, prl: [3, 6, 15, 28] });
    },
  },
  {
    name: 'no PRL (576 octets)',
    run: (ctx) => dora(ctx, 'relay', { mac: mac(18, 1) }),
  },
  {
    name: 'no PRL, option 82, max size 1500',
    run: async (ctx) => {
      await ctx.relay('DISCOVER', { mac: mac(19, 1), type: T.DISCOVER, maxSize: 1500, agent: AGENT });
    },
  },
  {
    name: 'many options, max size 576',
    run: (ctx) => dora(ctx, 'relay', { mac: mac(20, 1), prl: MANY, maxSize: 576 }),
  },
  {
    name: 'many options, no max size, option 82',
    run: async (ctx) => {
      await ctx.relay('DISCOVER', { mac: mac(21, 1), type: T.DISCOVER, prl: MANY, agent: AGENT });
    },
  },
  {
    name: 'BOOTP, fixed host',
    literals: ['10.1.2.10'],
    run: async (ctx) => {
      await ctx.relay('BOOTREQUEST', { mac: '02:00:00:00:0a:01', type: undefined });
    },
  },
  {
    name: 'BOOTP, pool allowing dynamic bootp clients',
    run: async (ctx) => {
      await ctx.relay('BOOTREQUEST', { mac: mac(23, 1), type: undefined, giaddr: '10.1.4.1' });
    },
  },
  {
    name: 'BOOTP, range dynamic-bootp',
    run: async (ctx) => {
      await ctx.relay('BOOTREQUEST', { mac: mac(24, 1), type: undefined, giaddr: '10.1.5.1' });
    },
  },
  {
    name: 'BOOTP, unknown client, no dynamic bootp',
    run: async (ctx) => {
      await ctx.relay('BOOTREQUEST', { mac: mac(25, 1), type: undefined });
    },
  },
  {
    name: 'DHCP client, pool only for dynamic bootp',
    run: async (ctx) => {
      await ctx.relay('DISCOVER', {
        mac: mac(26, 1),
        type: T.DISCOVER,
        giaddr: '10.1.4.1',
        prl: DHCLIENT_PRL,
      });
    },
  },
  {
    name: 'fixed host, DHCP',
    literals: ['10.1.2.10'],
    run: (ctx) => dora(ctx, 'relay', { mac: '02:00:00:00:0a:01', prl: DHCLIENT_PRL }),
  },
  {
    name: 'fixed PXE host (next-server, filename), no PRL',
    literals: ['10.1.2.11', '10.0.0.69'],
    run: async (ctx) => {
      await ctx.relay('DISCOVER', { mac: '02:00:00:00:0a:02', type: T.DISCOVER });
    },
  },
  {
    name: 'pool exhaustion (2 addresses, 3 clients)',
    run: async (ctx) => {
      for (const n of [1, 2])
        await dora(ctx, 'relay', { mac: mac(29, n), giaddr: '10.1.3.1', prl: DHCLIENT_PRL }, ` #${n}`);
      await ctx.relay('DISCOVER #3', {
        mac: mac(29, 3),
        type: T.DISCOVER,
        giaddr: '10.1.3.1',
        prl: DHCLIENT_PRL,
      });
    },
  },
  {
    name: 'hops 17',
    run: async (ctx) => {
      await ctx.relay('DISCOVER hops 17', { mac: mac(30, 1), type: T.DISCOVER, hops: 17, prl: DHCLIENT_PRL });
    },
  },
  {
    name: 'malformed: an option runs past the end',
    run: async (ctx) => {
      await ctx.relay('DISCOVER, option 55 length 200', {
        mac: mac(31, 1),
        type: T.DISCOVER,
        prl: DHCLIENT_PRL,
        mutate: breakOptionLength(55, 200),
        malformed: true,
      });
    },
  },
  {
    name: 'malformed: truncated header',
    run: async (ctx) => {
      await ctx.relay('DISCOVER cut to 200 octets', {
        mac: mac(32, 1),
        type: T.DISCOVER,
        prl: DHCLIENT_PRL,
        mutate: (b) => b.slice(0, 200),
        malformed: true,
      });
    },
  },
  {
    name: 'expiry (4 s lease)',
    run: async (ctx) => {
      const base = { mac: mac(33, 1), giaddr: '10.1.6.1', prl: DHCLIENT_PRL };
      const a = await dora(ctx, 'relay', base);
      await ctx.sleep(6000);
      await ctx.relay('other client: DISCOVER asking for it', {
        mac: mac(33, 2),
        giaddr: '10.1.6.1',
        type: T.DISCOVER,
        requested: a,
        prl: DHCLIENT_PRL,
      });
      await ctx.relay('first client: REQUEST (init-reboot)', { ...base, type: T.REQUEST, requested: a });
    },
  },
  {
    name: 'relayed INIT-REBOOT on the wrong network (NAK)',
    literals: ['10.9.9.9'],
    run: async (ctx) => {
      await ctx.relay('REQUEST 10.9.9.9 (init-reboot)', {
        mac: mac(34, 1),
        type: T.REQUEST,
        requested: '10.9.9.9',
        prl: DHCLIENT_PRL,
        agent: AGENT,
      });
    },
  },
  {
    name: 'relayed INFORM (ciaddr set)',
    literals: ['10.1.2.30'],
    run: async (ctx) => {
      await ctx.relay('INFORM', { mac: mac(35, 1), type: T.INFORM, ciaddr: '10.1.2.30', prl: MANY });
    },
  },
  {
    name: 'DISCOVER asking for a free address (50)',
    literals: ['10.1.0.80'],
    run: async (ctx) => {
      await ctx.direct('DISCOVER for 10.1.0.80', {
        mac: mac(36, 1),
        type: T.DISCOVER,
        requested: '10.1.0.80',
        prl: DHCLIENT_PRL,
      });
    },
  },
  {
    name: 'max size 300 (below the 576 floor), many options',
    run: async (ctx) => {
      await ctx.relay('DISCOVER', { mac: mac(37, 1), type: T.DISCOVER, prl: MANY, maxSize: 300 });
    },
  },
  {
    name: 'BOOTP, fixed host, 548-octet request',
    literals: ['10.1.2.10'],
    run: async (ctx) => {
      await ctx.relay('BOOTREQUEST (vend area 312 octets)', {
        mac: '02:00:00:00:0a:01',
        type: undefined,
        mutate: (b) => {
          const out = new Uint8Array(548);
          out.set(b.subarray(0, Math.min(b.length, 548)));
          return out;
        },
      });
    },
  },
  {
    name: 'hops 16 (the limit)',
    run: async (ctx) => {
      await ctx.relay('DISCOVER hops 16', { mac: mac(39, 1), type: T.DISCOVER, hops: 16, prl: DHCLIENT_PRL });
    },
  },
  {
    name: 'malformed: option overload (52) value 4',
    run: async (ctx) => {
      await ctx.relay('DISCOVER with 52 = 4', {
        mac: mac(40, 1),
        type: T.DISCOVER,
        prl: DHCLIENT_PRL,
        // The encoder manages 52 itself: put it in by hand, first in the options field.
        mutate: (b) => Uint8Array.from([...b.subarray(0, 240), 52, 1, 4, ...b.subarray(240)]),
        malformed: true,
      });
    },
  },
  {
    name: 'malformed: relay agent information sub-option overruns',
    run: async (ctx) => {
      await ctx.relay('DISCOVER with a broken 82', {
        mac: mac(41, 1),
        type: T.DISCOVER,
        prl: DHCLIENT_PRL,
        extra: [[82, [1, 9, 0x65, 0x74, 0x68]]],
        malformed: true,
      });
    },
  },
  // Option spaces (issue 10 point 4), subnets 10.1.7.0/24 and 10.1.8.0/24 of the fixture.
  {
    name: 'option spaces: 43 from vendor-option-space, 175, two- and four-octet spaces, as asked',
    run: (ctx) => dora(ctx, 'relay', { mac: mac(42, 1), giaddr: '10.1.7.1', prl: [1, 3, 43, 175, 224, 225] }),
  },
  {
    name: 'option spaces: 125 asked, vendor.NAME = encapsulate (neither server builds 125 from it)',
    run: async (ctx) => {
      await ctx.relay('DISCOVER', {
        mac: mac(49, 1),
        giaddr: '10.1.7.1',
        type: T.DISCOVER,
        prl: [1, 3, 125, 43],
      });
    },
  },
  {
    name: 'option spaces: 125 asked by a client that sends its own 125 (enterprise 4491): none either',
    run: async (ctx) => {
      await ctx.relay('DISCOVER', {
        mac: mac(50, 1),
        giaddr: '10.1.7.1',
        type: T.DISCOVER,
        prl: [1, 3, 125],
        extra: [[125, [0, 0, 0x11, 0x8b, 3, 1, 1, 0x41]]],
      });
    },
  },
  {
    name: 'option spaces: a list without 43, 175 or 224 gets none of them',
    run: async (ctx) => {
      await ctx.relay('DISCOVER', {
        mac: mac(43, 1),
        giaddr: '10.1.7.1',
        type: T.DISCOVER,
        prl: DHCLIENT_PRL,
      });
    },
  },
  {
    name: 'option spaces: no parameter request list (encapsulations, then 43)',
    run: async (ctx) => {
      await ctx.relay('DISCOVER', { mac: mac(44, 1), giaddr: '10.1.7.1', type: T.DISCOVER });
    },
  },
  {
    name: 'option spaces: an explicit option 43 wins over the vendor option space',
    run: async (ctx) => {
      await ctx.relay('DISCOVER', { mac: mac(45, 1), giaddr: '10.1.8.1', type: T.DISCOVER, prl: [1, 3, 43] });
    },
  },
  {
    name: "option spaces: a class's vendor-option-space (phone, option 60)",
    run: (ctx) =>
      dora(ctx, 'relay', {
        mac: mac(46, 1),
        giaddr: '10.1.7.1',
        prl: [1, 3, 6, 43, 66],
        extra: [[60, [...Buffer.from('lab-phone-7960')]]],
      }),
  },
  // Computed options (option NAME = EXPR), subnet 10.1.9.0/24.
  {
    name: 'computed options: host name from the leased address, null leaves an option out',
    run: (ctx) => dora(ctx, 'relay', { mac: mac(47, 1), giaddr: '10.1.9.1', prl: [1, 3, 12, 15, 17] }),
  },
  {
    name: 'computed options: the same with a vendor class (root path from it)',
    run: (ctx) =>
      dora(ctx, 'relay', {
        mac: mac(48, 1),
        giaddr: '10.1.9.1',
        prl: [1, 3, 12, 15, 17],
        extra: [[60, [...Buffer.from('PXEClient:Arch:00000')]]],
      }),
  },
];

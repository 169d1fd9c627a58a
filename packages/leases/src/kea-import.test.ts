import { describe, expect, it } from 'vitest';
import { formatIp4, formatMac } from '@hadhcp/common';
import { BindingState } from './lease.js';
import { isKeaLeaseFile, parseKeaLeases4 } from './kea-import.js';

/* Kea's memfile lease file, as Kea 2.2 writes it (the lab's peers test also reads one a real Kea wrote). */

const HEADER =
  'address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state,user_context';

describe('parseKeaLeases4', () => {
  it('reads each row; the last row for an address wins; states map to binding states', () => {
    const text = [
      HEADER,
      '10.1.0.50,02:00:00:00:01:01,01:02:00:00:00:01:01,3600,1800003600,1,0,0,pc&#x2c1,0,',
      '10.1.0.51,02:00:00:00:01:02,,3600,1800003600,1,0,0,,1,',
      '10.1.0.52,02:00:00:00:01:03,,3600,1800003600,1,0,0,,2,',
      '10.1.0.53,02:00:00:00:01:04,,3600,1800003600,1,0,0,,0,',
      '10.1.0.53,02:00:00:00:01:04,,0,1800003700,1,0,0,,0,',
      '',
    ].join('\n');
    expect(isKeaLeaseFile(text)).toBe(true);
    const r = parseKeaLeases4(text, 'kea-leases4.csv');
    expect(r.diagnostics).toEqual([]);
    const by = new Map(r.leases.map((l) => [formatIp4(l.address), l]));
    const a = by.get('10.1.0.50')!;
    expect(a).toMatchObject({
      state: BindingState.ACTIVE,
      starts: 1800000000,
      ends: 1800003600,
      cltt: 1800000000,
      hostname: 'pc,1',
    });
    expect(formatMac(a.hwAddr!)).toBe('02:00:00:00:01:01');
    expect([...a.clientId!]).toEqual([1, 2, 0, 0, 0, 1, 1]);
    expect(by.get('10.1.0.51')).toMatchObject({ state: BindingState.ABANDONED });
    expect(by.get('10.1.0.51')!.hwAddr).toBeUndefined();
    expect(by.get('10.1.0.52')).toMatchObject({ state: BindingState.FREE });
    expect(by.get('10.1.0.52')!.hwAddr).toBeDefined();
    // valid_lifetime 0: Kea's row for a deleted lease.
    expect(by.get('10.1.0.53')).toMatchObject({ state: BindingState.FREE, ends: 0 });
    expect(by.get('10.1.0.53')!.hwAddr).toBeUndefined();
  });

  it('finds the columns by name (another Kea version), and names rows it cannot read', () => {
    const text = [
      'address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state,user_context,pool_id',
      '10.1.0.60,02:00:00:00:01:05,,600,1800000600,1,0,0,,0,,0',
      'not-an-ip,02:00:00:00:01:06,,600,1800000600,1,0,0,,0,,0',
      '10.1.0.61,short',
    ].join('\n');
    const r = parseKeaLeases4(text, 'k.csv');
    expect(r.leases.map((l) => formatIp4(l.address))).toEqual(['10.1.0.60']);
    expect(r.diagnostics.map((d) => `${d.file}:${d.line}`)).toEqual(['k.csv:3', 'k.csv:4']);
  });

  it('refuses a file that is not one, and dhcpd.leases is not taken for one', () => {
    expect(parseKeaLeases4('lease 10.0.0.5 {\n}\n', 'x').diagnostics[0]!.message).toMatch(
      /not a Kea DHCPv4 lease file/,
    );
    expect(
      isKeaLeaseFile('# The format of this file is documented in the dhcpd.leases(5) manual page.\n'),
    ).toBe(false);
  });
});

import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ServerState } from '../wire/constants.js';
import { FileStateStore } from './state-file.js';

const dirs: string[] = [];
function dir(): string {
  const d = mkdtempSync(join(tmpdir(), 'hadhcp-failover-state-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const record = {
  my: ServerState.NORMAL,
  mySince: 1_800_000_000_000,
  partner: ServerState.COMMUNICATIONS_INTERRUPTED,
  partnerSince: 1_800_000_001_000,
  mclt: 3600,
};

describe('FileStateStore', () => {
  it('no file: no record (a new server, which starts in recover)', async () => {
    expect(await new FileStateStore(join(dir(), 'x.json'), 'dhcp-failover').load()).toBeUndefined();
  });

  it('reads back what it wrote, leaves no temporary file, and writes ISC state names for people', async () => {
    const d = dir();
    const s = new FileStateStore(join(d, 'failover-dhcp-failover.json'), 'dhcp-failover');
    await s.write({ ...record, my: ServerState.RECOVER_WAIT });
    await s.write(record);
    expect(await s.load()).toEqual(record);
    expect(readdirSync(d)).toEqual(['failover-dhcp-failover.json']);
    const text = readFileSync(join(d, 'failover-dhcp-failover.json'), 'utf8');
    expect(JSON.parse(text)).toMatchObject({
      relationship: 'dhcp-failover',
      my: { state: 'normal', value: 2, since: '2027-01-15T08:00:00.000Z' },
      partner: { state: 'communications-interrupted', value: 3 },
      mclt: 3600,
    });
  });

  it('refuses the record of another relationship and a file that is not a record', async () => {
    const d = dir();
    const p = join(d, 's.json');
    await new FileStateStore(p, 'other').write(record);
    await expect(new FileStateStore(p, 'dhcp-failover').load()).rejects.toThrow(/relationship "other"/);
    writeFileSync(p, '{"relationship":"dhcp-failover"}');
    await expect(new FileStateStore(p, 'dhcp-failover').load()).rejects.toThrow(
      /not a failover state record/,
    );
  });

  it('a write into a folder that is gone rejects (the service keeps its old state)', async () => {
    const s = new FileStateStore(join(dir(), 'no-such-dir', 's.json'), 'dhcp-failover');
    await expect(s.write(record)).rejects.toThrow(/ENOENT/);
  });
});

import { formatIp4 } from '@hadhcp/common';
import { isKeaLeaseFile, LeaseStore, parseIscLeases, parseKeaLeases4 } from '@hadhcp/leases';
import { readFileSync } from 'node:fs';

/**
 * `hadhcp leases import FILE`: bring an ISC dhcpd.leases, or Kea's memfile kea-leases4.csv (recognised by its
 * header line), into the store (with the daemon stopped: the store is locked while a daemon runs). The last
 * entry for an address wins, as in both.
 */
export async function runImport(file: string, o: { stateDir: string }): Promise<number> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    console.error(`hadhcp leases import: cannot read ${file}: ${(e as Error).message}`);
    return 3;
  }
  const parsed = isKeaLeaseFile(text) ? parseKeaLeases4(text, file) : parseIscLeases(text, file);
  for (const d of parsed.diagnostics) console.error(`${file}:${d.line}:${d.col}: ${d.message}`);
  let store: LeaseStore;
  try {
    store = await LeaseStore.open(o.stateDir);
  } catch (e) {
    console.error(`hadhcp leases import: ${(e as Error).message}`);
    return 3;
  }
  try {
    await store.write(parsed.leases);
  } finally {
    await store.close();
  }
  const active = parsed.leases.filter((l) => l.state === 2).length;
  console.log(
    `imported ${parsed.leases.length} leases (${active} active) from ${file} into ${o.stateDir}` +
      (parsed.leases.length ? `; first ${formatIp4(parsed.leases[0]!.address)}` : ''),
  );
  return parsed.diagnostics.length > 0 ? 1 : 0;
}

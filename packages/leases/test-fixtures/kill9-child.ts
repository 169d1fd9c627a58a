// Child for the kill -9 test (store.test.ts): writes leases as fast as it can, printing each address only
// after its write() resolved. The parent kills it with SIGKILL and checks every printed address survived.
import { LeaseStore } from '../src/store.js';
import { BindingState } from '../src/lease.js';

const dir = process.argv[2]!;
const store = await LeaseStore.open(dir, { compactMinBytes: 64 * 1024, log: () => undefined });
let next = 0x0a000000;
process.stdout.write('ready\n');
async function writer(): Promise<void> {
  for (;;) {
    const address = next++;
    await store.write([
      {
        address,
        state: BindingState.ACTIVE,
        starts: 1,
        ends: 2,
        tstp: 0,
        tsfp: 0,
        atsfp: 0,
        cltt: 1,
        hwType: 1,
        hwAddr: new Uint8Array([0, 1, 2, 3, 4, address & 255]),
        hostname: `h${address}`,
      },
    ]);
    // Pipes are written synchronously on Linux, so a printed line was acknowledged before it left.
    process.stdout.write(`${address}\n`);
  }
}
await Promise.all(Array.from({ length: 32 }, writer));

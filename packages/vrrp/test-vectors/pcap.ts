import { pcapRecordToEthernet, readPcap } from '@hadhcp/common';

/** The IPv4 packets of a capture, with the frame number tshark would show and the time in ms. */
export function ipv4Frames(file: Uint8Array): { frame: number; tsMs: number; ip: Uint8Array }[] {
  return readPcap(file).flatMap((rec, i) => {
    const eth = pcapRecordToEthernet(rec);
    if (!eth || eth.length <= 14 || eth[12] !== 0x08 || eth[13] !== 0x00) return [];
    return [{ frame: i + 1, tsMs: rec.ts * 1000, ip: eth.subarray(14) }];
  });
}

/** Fixed offsets and sizes of the RFC 2131 2 message format, shared by the decoder and the encoder. */

/** op .. file is 236 octets; the options field starts with the 4-octet magic cookie (RFC 2131 3). */
export const FIXED_HEADER_LEN = 236;
export const MAGIC_COOKIE: Readonly<Uint8Array> = Uint8Array.of(99, 130, 83, 99);
/** 65535 - 20 (IPv4 header) - 8 (UDP header): nothing larger can arrive in one datagram. */
export const MAX_DHCP_PAYLOAD = 65507;
/** RFC 1542 4.1.1: a relay discards a request whose hops already exceeds 16; the server drops it too. */
export const MAX_HOPS = 16;
/** RFC 951: a BOOTP message is at least 300 octets (64-octet vend field). */
export const MIN_MESSAGE_LEN = 300;

export const OPT_PAD = 0;
export const OPT_END = 255;
export const OPT_OVERLOAD = 52;
export const OPT_MESSAGE_TYPE = 53;

export const FIELD = { SNAME_OFF: 44, SNAME_LEN: 64, FILE_OFF: 108, FILE_LEN: 128 } as const;

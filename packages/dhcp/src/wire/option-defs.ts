/**
 * DHCPv4 option definitions by the names ISC dhcpd.conf uses (dhcp-options(5)), with their wire types.
 * The config reader encodes `option NAME value;` with these; the codec's typed accessors decode with them.
 *
 * Types:
 *  ip, ips (1+ addresses), ip-pairs (static-routes, policy-filter), u8, u16, u32, i32, u8s, u16s, bool, text,
 *  bytes (hex "aa:bb" or quoted string), domains (RFC 1035 label list, e.g. domain-search 119),
 *  routes (RFC 3442 classless routes), fqdn (RFC 4702), encap (sub-options, relay agent info 82).
 */
export type OptionType =
  | 'ip'
  | 'ips'
  | 'ip-pairs'
  | 'u8'
  | 'u16'
  | 'u32'
  | 'i32'
  | 'u8s'
  | 'u16s'
  | 'u32s'
  | 'bool'
  | 'text'
  | 'bytes'
  | 'domains'
  | 'routes'
  | 'fqdn'
  | 'encap';

export interface OptionDef {
  code: number;
  name: string;
  type: OptionType;
}

// prettier-ignore
const TABLE: Array<[number, string, OptionType]> = [
  [1, 'subnet-mask', 'ip'], [2, 'time-offset', 'i32'], [3, 'routers', 'ips'], [4, 'time-servers', 'ips'],
  [5, 'ien116-name-servers', 'ips'], [6, 'domain-name-servers', 'ips'], [7, 'log-servers', 'ips'],
  [8, 'cookie-servers', 'ips'], [9, 'lpr-servers', 'ips'], [10, 'impress-servers', 'ips'],
  [11, 'resource-location-servers', 'ips'], [12, 'host-name', 'text'], [13, 'boot-size', 'u16'],
  [14, 'merit-dump', 'text'], [15, 'domain-name', 'text'], [16, 'swap-server', 'ip'], [17, 'root-path', 'text'],
  [18, 'extensions-path', 'text'], [19, 'ip-forwarding', 'bool'], [20, 'non-local-source-routing', 'bool'],
  [21, 'policy-filter', 'ip-pairs'], [22, 'max-dgram-reassembly', 'u16'], [23, 'default-ip-ttl', 'u8'],
  [24, 'path-mtu-aging-timeout', 'u32'], [25, 'path-mtu-plateau-table', 'u16s'], [26, 'interface-mtu', 'u16'],
  [27, 'all-subnets-local', 'bool'], [28, 'broadcast-address', 'ip'], [29, 'perform-mask-discovery', 'bool'],
  [30, 'mask-supplier', 'bool'], [31, 'router-discovery', 'bool'], [32, 'router-solicitation-address', 'ip'],
  [33, 'static-routes', 'ip-pairs'], [34, 'trailer-encapsulation', 'bool'], [35, 'arp-cache-timeout', 'u32'],
  [36, 'ieee802-3-encapsulation', 'bool'], [37, 'default-tcp-ttl', 'u8'], [38, 'tcp-keepalive-interval', 'u32'],
  [39, 'tcp-keepalive-garbage', 'bool'], [40, 'nis-domain', 'text'], [41, 'nis-servers', 'ips'],
  [42, 'ntp-servers', 'ips'], [43, 'vendor-encapsulated-options', 'bytes'], [44, 'netbios-name-servers', 'ips'],
  [45, 'netbios-dd-server', 'ips'], [46, 'netbios-node-type', 'u8'], [47, 'netbios-scope', 'text'],
  [48, 'font-servers', 'ips'], [49, 'x-display-manager', 'ips'], [50, 'dhcp-requested-address', 'ip'],
  [51, 'dhcp-lease-time', 'u32'], [52, 'dhcp-option-overload', 'u8'], [53, 'dhcp-message-type', 'u8'],
  [54, 'dhcp-server-identifier', 'ip'], [55, 'dhcp-parameter-request-list', 'u8s'], [56, 'dhcp-message', 'text'],
  [57, 'dhcp-max-message-size', 'u16'], [58, 'dhcp-renewal-time', 'u32'], [59, 'dhcp-rebinding-time', 'u32'],
  [60, 'vendor-class-identifier', 'bytes'], [61, 'dhcp-client-identifier', 'bytes'], [62, 'nwip-domain', 'text'],
  [63, 'nwip-suboptions', 'bytes'], [64, 'nisplus-domain', 'text'], [65, 'nisplus-servers', 'ips'],
  [66, 'tftp-server-name', 'text'], [67, 'bootfile-name', 'text'], [68, 'mobile-ip-home-agent', 'ips'],
  [69, 'smtp-server', 'ips'], [70, 'pop-server', 'ips'], [71, 'nntp-server', 'ips'], [72, 'www-server', 'ips'],
  [73, 'finger-server', 'ips'], [74, 'irc-server', 'ips'], [75, 'streettalk-server', 'ips'],
  [76, 'streettalk-directory-assistance-server', 'ips'], [77, 'user-class', 'bytes'],
  [78, 'slp-directory-agent', 'bytes'], [79, 'slp-service-scope', 'bytes'], [81, 'fqdn', 'fqdn'],
  [82, 'relay-agent-information', 'encap'], [85, 'nds-servers', 'ips'], [86, 'nds-tree-name', 'text'],
  [87, 'nds-context', 'text'], [88, 'bcms-controller-names', 'domains'], [89, 'bcms-controller-address', 'ips'],
  [91, 'client-last-transaction-time', 'u32'], [92, 'associated-ip', 'ips'], [93, 'pxe-system-type', 'u16s'],
  [94, 'pxe-interface-id', 'bytes'], [97, 'pxe-client-id', 'bytes'], [98, 'uap-servers', 'text'],
  [99, 'geoconf-civic', 'bytes'], [100, 'pcode', 'text'], [101, 'tcode', 'text'],
  [112, 'netinfo-server-address', 'ips'], [113, 'netinfo-server-tag', 'text'], [114, 'default-url', 'text'],
  [116, 'auto-config', 'u8'], [117, 'name-service-search', 'u16s'], [118, 'subnet-selection', 'ip'],
  [119, 'domain-search', 'domains'], [121, 'classless-static-routes', 'routes'], [124, 'vivco', 'bytes'],
  [125, 'vivso', 'bytes'], [136, 'pana-agent', 'ips'], [137, 'v4-lost', 'domains'], [138, 'capwap-ac-v4', 'ips'],
  [141, 'sip-ua-cs-domains', 'domains'], [142, 'ipv4-address-andsf', 'ips'], [146, 'rdnss-selection', 'bytes'],
  [150, 'tftp-server-address', 'ips'], [160, 'v4-captive-portal', 'text'], [212, 'option-6rd', 'bytes'],
  [213, 'v4-access-domain', 'domains'],
];

export const OPTION_DEFS_BY_CODE: ReadonlyMap<number, OptionDef> = new Map(
  TABLE.map(([code, name, type]) => [code, { code, name, type }]),
);
export const OPTION_DEFS_BY_NAME: ReadonlyMap<string, OptionDef> = new Map(
  TABLE.map(([code, name, type]) => [name, { code, name, type }]),
);

/** Well-known codes the server logic refers to by name. */
export const Opt = {
  PAD: 0,
  SUBNET_MASK: 1,
  ROUTERS: 3,
  HOST_NAME: 12,
  DOMAIN_NAME: 15,
  BROADCAST_ADDRESS: 28,
  REQUESTED_ADDRESS: 50,
  LEASE_TIME: 51,
  OVERLOAD: 52,
  MESSAGE_TYPE: 53,
  SERVER_ID: 54,
  PARAMETER_REQUEST_LIST: 55,
  MESSAGE: 56,
  MAX_MESSAGE_SIZE: 57,
  RENEWAL_TIME: 58,
  REBINDING_TIME: 59,
  VENDOR_CLASS: 60,
  CLIENT_ID: 61,
  TFTP_SERVER_NAME: 66,
  BOOTFILE_NAME: 67,
  USER_CLASS: 77,
  FQDN: 81,
  RELAY_AGENT_INFO: 82,
  SUBNET_SELECTION: 118,
  CLASSLESS_ROUTES: 121,
  END: 255,
} as const;

// ByteReader moved to @hadhcp/common so that every codec (DHCP, failover) shares one bounds-checked reader.
export { ByteReader } from '@hadhcp/common';

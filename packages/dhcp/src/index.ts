export * from './wire/types.js';
export * from './wire/option-defs.js';
export * from './core/config.js';
export * from './wire/accessors.js';
export * from './wire/option-values.js';
export * from './wire/errors.js';
export * from './wire/constants.js';
export * from './wire/codec.js';
export * from './wire/reader.js';
export * from './wire/frame.js';
export * from './io/interfaces.js';
export * from './io/udp.js';
export * from './io/frames.js';
export * from './io/pinger.js';
export * from './io/dhcp-sockets.js';
export * from './io/machine.js';
export type {
  Decision,
  Destination,
  RequestMeta,
  Reply,
  DropReason as CoreDropReason,
} from './core/types.js';
export * from './core/server.js';
export * from './core/admission.js';
export * from './core/lease-table.js';
export * from './core/addressing.js';
export * from './core/policy.js';
export * from './core/failover-policy.js';
export * from './core/binding.js';
export { buildReply, replyOptions, type ReplySpec } from './core/reply.js';
export * from './service/dhcp-service.js';
export * from './service/reply-route.js';
export type * from './service/types.js';
export * from './service/lease-writer.js';
export * from './service/failover-book.js';

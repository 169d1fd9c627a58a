// Just enough typing for the two native packages the io layer uses; neither ships its own.

declare module 'raw-socket' {
  import { EventEmitter } from 'node:events';
  interface SocketOptions {
    protocol?: number;
    addressFamily?: number;
    bufferSize?: number;
  }
  class Socket extends EventEmitter {
    send(
      buffer: Buffer,
      offset: number,
      length: number,
      address: string,
      afterCallback: (error: Error | null, bytes: number) => void,
    ): this;
    setOption(level: number, option: number, value: number): void;
    setOption(level: number, option: number, value: Buffer, length: number): void;
    close(): this;
    on(event: 'message', listener: (buffer: Buffer, source: string) => void): this;
    on(event: 'error', listener: (error: Error) => void): this;
    on(event: 'close', listener: () => void): this;
  }
  const raw: {
    createSocket(options?: SocketOptions): Socket;
    AddressFamily: { IPv4: number; IPv6: number };
  };
  export default raw;
}

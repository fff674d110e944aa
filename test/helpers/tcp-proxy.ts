// A TCP relay in front of a real sshd that counts the connections a client makes, and can
// turn chosen ones away the way sshd does past MaxStartups: a line of text and a close
// before the SSH identification, or a bare reset.
import { connect, createServer, type Socket } from 'node:net';

export type Refusal = 'close' | 'reset';

export interface TcpProxyOptions {
  /** Where accepted connections are relayed to. */
  to: { host: string; port: number };
  /** Address to listen on; default 127.0.0.1. */
  listen?: string;
  /** Connection number n (1-based) is refused this way; undefined: relayed. */
  refuse?: (n: number) => Refusal | undefined;
}

export interface TcpProxy {
  port: number;
  /** Connections accepted so far, refused ones included. */
  readonly connections: number;
  close(): Promise<void>;
}

export async function startTcpProxy(opts: TcpProxyOptions): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let connections = 0;
  const track = (s: Socket): void => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => s.destroy());
  };
  const server = createServer((client) => {
    track(client);
    connections++;
    const refusal = opts.refuse?.(connections);
    if (refusal === 'close') {
      client.end('Exceeded MaxStartups\r\n');
      return;
    }
    if (refusal === 'reset') {
      client.resetAndDestroy();
      return;
    }
    const upstream = connect(opts.to);
    track(upstream);
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, opts.listen ?? '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy has no TCP port');
  return {
    port: address.port,
    get connections() {
      return connections;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

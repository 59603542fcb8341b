import net from 'node:net';

/**
 * A TCP proxy for fault drills: put it between a worker and the Temporal server's gRPC port, then
 * `cut()` it to simulate a network partition (every open connection is destroyed and new ones are
 * refused, as a dropped route does) and `restore()` it. Loopback only.
 */
export interface TcpProxy {
  /** `127.0.0.1:<port>`: what the client dials instead of the target. */
  address: string;
  /** Destroys every connection through the proxy and refuses new ones until `restore()`. */
  cut(): void;
  restore(): void;
  /** Changes where new connections go (the server came back on another port); open ones keep theirs. */
  retarget(target: string): void;
  stats(): { connections: number; open: number; refused: number; cuts: number };
  close(): Promise<void>;
}

function hostPort(target: string): { host: string; port: number } {
  const m = /^(.*):(\d+)$/.exec(target);
  if (!m) throw new Error(`tcp proxy target must be host:port, got ${target}`);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) };
}

export async function startTcpProxy(opts: { target: string; port?: number }): Promise<TcpProxy> {
  let target = hostPort(opts.target);
  let isCut = false;
  const open = new Set<net.Socket>();
  const counts = { connections: 0, refused: 0, cuts: 0 };

  const server = net.createServer((client) => {
    if (isCut) {
      counts.refused++;
      client.destroy();
      return;
    }
    counts.connections++;
    const upstream = net.connect(target.port, target.host);
    open.add(client);
    open.add(upstream);
    const done = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', done).on('close', done);
    upstream.on('error', done).on('close', done);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as net.AddressInfo;

  return {
    address: `127.0.0.1:${addr.port}`,
    cut() {
      isCut = true;
      counts.cuts++;
      for (const s of open) s.destroy();
      open.clear();
    },
    restore() {
      isCut = false;
    },
    retarget(next) {
      target = hostPort(next);
    },
    stats: () => ({ ...counts, open: open.size / 2 }),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        open.clear();
        server.close(() => resolve());
      }),
  };
}

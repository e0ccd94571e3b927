import dns from 'node:dns';
import net from 'node:net';

/**
 * Blocks, and records, every TCP connection and DNS look-up of this process that is not for
 * loopback. A blocked attempt fails before any packet is sent, so a test can show that code tries
 * to reach an outside host without it ever doing so.
 */
export const outsideAttempts: string[] = [];

const loopbackHosts = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

function isLoopback(host: string): boolean {
  return loopbackHosts.has(host) || host.startsWith('127.');
}

const originalConnect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function guardedConnect(this: net.Socket, ...args: unknown[]): net.Socket {
  // net.connect() and HTTP agents pass their already normalized arguments as one array,
  // [options, callback]. A direct socket.connect() call passes (options) or (port, host).
  const first = Array.isArray(args[0]) ? (args[0] as unknown[])[0] : args[0];
  const options = (typeof first === 'object' && first !== null ? first : { port: first, host: args[1] }) as {
    host?: unknown;
    port?: unknown;
  };
  // No host means localhost (or a Unix socket path); any host given must be loopback. HTTP agents
  // pass `path: null` next to the host, so the presence of `path` proves nothing.
  const host = typeof options.host === 'string' ? options.host : undefined;
  if (host !== undefined && !isLoopback(host)) {
    outsideAttempts.push(`connect ${host}:${String(options.port)}`);
    process.nextTick(() => this.destroy(new Error(`loopback guard blocked a connection to ${host}:${String(options.port)}`)));
    return this;
  }
  return (originalConnect as (...connectArgs: unknown[]) => net.Socket).apply(this, args);
} as typeof net.Socket.prototype.connect;

const originalLookup = dns.lookup;
dns.lookup = function guardedLookup(hostname: string, ...rest: unknown[]): void {
  const callback = rest.at(-1) as (error: Error | null, address?: string, family?: number) => void;
  if (!isLoopback(hostname)) {
    outsideAttempts.push(`lookup ${hostname}`);
    process.nextTick(() => callback(Object.assign(new Error(`loopback guard blocked a look-up of ${hostname}`), { code: 'ENOTFOUND' })));
    return;
  }
  (originalLookup as (...lookupArgs: unknown[]) => void).call(dns, hostname, ...rest);
} as typeof dns.lookup;

const originalPromisesLookup = dns.promises.lookup;
dns.promises.lookup = async function guardedPromisesLookup(hostname: string, ...rest: unknown[]) {
  if (!isLoopback(hostname)) {
    outsideAttempts.push(`lookup ${hostname}`);
    throw Object.assign(new Error(`loopback guard blocked a look-up of ${hostname}`), { code: 'ENOTFOUND' });
  }
  return (originalPromisesLookup as (...lookupArgs: unknown[]) => Promise<unknown>).call(dns.promises, hostname, ...rest);
} as typeof dns.promises.lookup;

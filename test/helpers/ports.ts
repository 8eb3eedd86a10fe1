import { randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';

/** The lowest port freePort() hands out: above the well-known and most registered services. */
const LOWEST = 10000;
/** Ports freePort() gave this process: not handed out twice, even once the first taker has let go. */
const handedOut = new Set<number>();

/**
 * The kernel's range for the ports it picks itself: a bind to port 0, and
 * the local end of every outgoing connection.
 */
function ephemeralRange(): readonly [number, number] {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (low > 0 && high >= low) return [low, high];
  } catch {
    // Not Linux: the range Linux uses by default.
  }
  return [32768, 60999];
}

/** Whether something can listen on `port` of 127.0.0.1 now (it is let go again at once). */
function canListen(port: number): Promise<boolean> {
  const probe = createServer();
  return new Promise<boolean>((resolve) => {
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

/** What the OS hands out for port 0. */
async function osPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', resolve);
  });
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/**
 * A port on 127.0.0.1 that nothing listens on: free to listen on, and
 * refusing connections until something does. The port is let go before the
 * caller binds it, so it is chosen at random below the kernel's ephemeral
 * range: no outgoing connection (the tests' own HTTP and Kafka clients, or
 * any other process's) can be given it meanwhile, as one can a port the OS
 * handed out for port 0. Only a process binding that very port on purpose
 * could take it.
 */
export async function freePort(): Promise<number> {
  const [low] = ephemeralRange();
  if (low - LOWEST < 1000) return osPort();
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = LOWEST + randomInt(low - LOWEST);
    if (handedOut.has(port) || !(await canListen(port))) continue;
    handedOut.add(port);
    return port;
  }
  return osPort();
}

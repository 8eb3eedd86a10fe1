import { EventGateError, messageOf } from '../errors';

/**
 * A failed `listen` as a catalogue error: a port in use is the commonest
 * start failure an operator meets (a second instance, an old one still
 * stopping), so it gets a code and a message of its own. In a cluster
 * worker node reports `bind EADDRINUSE`, in one process `listen EADDRINUSE`:
 * the errno code is the same.
 */
export function listenError(err: unknown, port: number, iface: string): EventGateError {
  const errno = (err as NodeJS.ErrnoException | null)?.code;
  const where = `${iface}:${port}`;
  if (errno === 'EADDRINUSE') {
    return new EventGateError('EG_ERR_PORT_IN_USE', `port ${port} on ${iface} is in use by another process (services[0].conf.port)`, {
      cause: err,
      details: { port, interface: iface },
    });
  }
  return new EventGateError('EG_ERR_LISTEN', `could not listen on ${where}: ${messageOf(err)}`, { cause: err, details: { port, interface: iface, errno } });
}

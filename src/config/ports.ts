// A port the service needs is taken by another program: one sentence naming the port, what wanted
// it and the setting that moves it, instead of a start-up that claims to run or a bind error.
import type { Server } from 'node:net';

import { ConfigError } from './errors';

export class PortInUseError extends ConfigError {
  override name = 'PortInUseError';
  constructor(
    readonly port: number,
    what: string,
    readonly setting: string,
  ) {
    super(
      `Port ${port} (${what}) is already in use by another program: stop that program, or set ${setting} to a free port.`,
    );
  }
}

export const isAddressInUse = (err: unknown): boolean =>
  (err as NodeJS.ErrnoException | undefined)?.code === 'EADDRINUSE';

/** Listens, and turns EADDRINUSE into a PortInUseError naming `setting`. */
export function listenOn(
  server: Server,
  port: number,
  host: string,
  owner: { what: string; setting: string },
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onError = (err: Error) =>
      reject(isAddressInUse(err) ? new PortInUseError(port, owner.what, owner.setting) : err);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.removeListener('error', onError);
      resolve();
    });
  });
}

// The two outcomes of acquiring a config that are not plain failures, as Ignition names them:
//  - "no provider": this source has nothing to say (no ignition.config.url on the command line, no
//    user.ign, the file platform's file is missing); the next source in line is asked;
//  - "needs network": fetch-offline reached something that needs the network; the stage writes the
//    neednet flag file and exits successfully so that the distro brings networking up for fetch.
import { KindlingError } from '../errors.js';

export class NoProviderError extends KindlingError {
  constructor(message = 'config provider not available') {
    super('platform', message);
    this.name = 'NoProviderError';
  }
}

export class NeedNetError extends KindlingError {
  constructor(what: string) {
    super('fetch', `${what} requires networking`);
    this.name = 'NeedNetError';
  }
}

export function isNeedNet(err: unknown): err is NeedNetError {
  return err instanceof NeedNetError;
}

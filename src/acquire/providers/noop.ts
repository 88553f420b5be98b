// Platforms whose config comes only from the kernel command line (ignition.config.url) or the
// system directories: Ignition serves "metal" with its noop provider, which answers "no config"
// (ErrEmpty), so the boot continues with an empty config.
import type { Provider } from './types.js';

export const metal: Provider = {
  name: 'metal',
  source: 'none of its own: ignition.config.url on the kernel command line, or the system config directories',
  network: false,
  async fetch() {
    return null;
  },
};

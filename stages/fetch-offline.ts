// Ignition's fetch-offline stage: acquire the config without the network. When the config (the
// platform's user data, the cmdline URL, a referenced config or CA) needs the network, write the
// -neednet flag file and succeed, so that the distro starts networking and runs the fetch stage.
import { makeFetchStage } from '../src/acquire/stage.js';

export const fetchOfflineStage = makeFetchStage('fetch-offline');

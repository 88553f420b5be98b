// Ignition's fetch stage: acquire the config (network allowed), fetch and merge what it references
// (verified, with the parent's timeouts, proxy and CAs), validate, and write it to -config-cache.
import { makeFetchStage } from '../src/acquire/stage.js';

export const fetchStage = makeFetchStage('fetch');

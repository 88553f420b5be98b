export const KINDLING_VERSION = '0.1.0';

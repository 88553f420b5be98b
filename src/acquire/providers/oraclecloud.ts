// Oracle Cloud Infrastructure: IMDS v2 at http://169.254.169.254/opc/v2/instance/metadata/user_data
// with "Authorization: Bearer Oracle"; 429 is retried; 404 = no config; the body is base64.
import { decodeBase64Strict, getUserData } from './common.js';
import type { Provider } from './types.js';

export const oraclecloud: Provider = {
  name: 'oraclecloud',
  source: 'IMDS v2: http://169.254.169.254/opc/v2/instance/metadata/user_data (Authorization: Bearer Oracle, base64)',
  network: true,
  async fetch(ctx) {
    const data = await getUserData(ctx, 'http://169.254.169.254/opc/v2/instance/metadata/user_data', {
      headers: { Authorization: 'Bearer Oracle' },
      retryCodes: [429],
      notFoundIsEmpty: true,
    });
    return data === null ? null : decodeBase64Strict(data, 'the Oracle Cloud user data');
  },
};

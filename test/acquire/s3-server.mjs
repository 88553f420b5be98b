// A stand-alone S3 stand-in for the network-namespace test: listens on the address and port given,
// answers the bucket-region HEAD with eu-north-1, and serves the object file given for any GET that
// is signed for the netns role (credential ASIANETNS, region eu-north-1, x-amz-security-token
// netns-session signed). The full SigV4 computation is checked in aws-s3.test.ts; here the point is
// that the credentials came from 169.254.169.254 itself. Logs each request on stdout.
import http from 'node:http';
import { readFileSync } from 'node:fs';

const [host, port, objectFile] = process.argv.slice(2);
const server = http.createServer((req, res) => {
  const auth = String(req.headers.authorization ?? '');
  process.stdout.write(`${req.method} ${req.url} ${auth ? 'signed' : 'unsigned'}\n`);
  if (req.method === 'HEAD') {
    res.writeHead(301, { 'x-amz-bucket-region': 'eu-north-1' }).end();
    return;
  }
  const m = /^AWS4-HMAC-SHA256 Credential=ASIANETNS\/\d{8}\/eu-north-1\/s3\/aws4_request, SignedHeaders=([^,]+), Signature=[0-9a-f]{64}$/.exec(auth);
  if (!m || !m[1].split(';').includes('x-amz-security-token') || req.headers['x-amz-security-token'] !== 'netns-session') {
    res.writeHead(403, { 'content-type': 'application/xml' }).end('<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>');
    return;
  }
  res.writeHead(200).end(readFileSync(objectFile));
});
server.listen(Number(port), host, () => process.stdout.write('ready\n'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));

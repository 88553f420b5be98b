// A stand-alone EC2-like instance metadata service for the network-namespace test: listens on
// the address and port given (169.254.169.254:80 inside the namespace), requires IMDSv2 tokens,
// serves the user data given in a file, an IAM role's credentials and the region (for S3).
// Prints "ready" once listening.
import http from 'node:http';
import { readFileSync } from 'node:fs';

const [host, port, userDataFile] = process.argv.slice(2);
const TOKEN = 'netns-token';
const server = http.createServer((req, res) => {
  if (req.method === 'PUT' && req.url === '/latest/api/token') {
    if (!req.headers['x-aws-ec2-metadata-token-ttl-seconds']) {
      res.writeHead(400).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain' }).end(TOKEN);
    return;
  }
  if (req.headers['x-aws-ec2-metadata-token'] !== TOKEN) {
    res.writeHead(401).end();
    return;
  }
  if (req.url === '/2019-10-01/user-data') {
    res.writeHead(200).end(readFileSync(userDataFile));
    return;
  }
  if (req.url === '/latest/meta-data/placement/region') {
    res.writeHead(200).end('eu-north-1');
    return;
  }
  if (req.url === '/latest/meta-data/iam/security-credentials/') {
    res.writeHead(200).end('netns-role');
    return;
  }
  if (req.url === '/latest/meta-data/iam/security-credentials/netns-role') {
    const Expiration = new Date(Date.now() + 3600_000).toISOString();
    res.writeHead(200).end(JSON.stringify({ Code: 'Success', AccessKeyId: 'ASIANETNS', SecretAccessKey: 'netns-secret', Token: 'netns-session', Expiration }));
    return;
  }
  if (req.url === '/2019-10-01/meta-data/hostname') {
    res.writeHead(200).end('ip-10-0-0-9.ec2.internal');
    return;
  }
  res.writeHead(404).end();
});
server.listen(Number(port), host, () => process.stdout.write('ready\n'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));

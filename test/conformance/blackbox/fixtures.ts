// The fixed fixture servers every case may contact: HTTP on 127.0.0.1:8080, TFTP on udp
// 127.0.0.1:69 (ports this harness owns on the test machine).
import type { Server } from 'node:http';
import type { Socket } from 'node:dgram';
import type { Corpus } from './corpus.js';
import { startHttpFixture, type RequestLogEntry } from './http-fixture.js';
import { startTftpFixture, type TftpLogEntry } from './tftp-fixture.js';

export interface Fixtures {
  httpLog: RequestLogEntry[];
  tftpLog: TftpLogEntry[];
  close(): Promise<void>;
}

export async function startServers(corpus: Corpus): Promise<Fixtures> {
  const httpLog: RequestLogEntry[] = [];
  const tftpLog: TftpLogEntry[] = [];
  const http: Server = await startHttpFixture(corpus, httpLog);
  let tftp: Socket;
  try {
    tftp = await startTftpFixture(corpus, tftpLog);
  } catch (err) {
    http.close();
    throw err;
  }
  return {
    httpLog,
    tftpLog,
    async close() {
      http.closeAllConnections();
      await new Promise<void>((r) => http.close(() => r()));
      await new Promise<void>((r) => tftp.close(() => r()));
    },
  };
}

/**
 * A tiny static server for the browser tests: serves in-memory files on 127.0.0.1 at a random port.
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ServedFile {
  body: string | Uint8Array;
  type: string;
}

export interface StaticServer {
  origin: string;
  close(): Promise<void>;
}

/** Serves `files` (path → content); everything else is a 404. */
export async function serveFiles(files: ReadonlyMap<string, ServedFile>): Promise<StaticServer> {
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    const f = files.get(path);
    if (!f) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: ${path}`);
      return;
    }
    res.writeHead(200, { 'content-type': f.type, 'cache-control': 'no-store' }).end(f.body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

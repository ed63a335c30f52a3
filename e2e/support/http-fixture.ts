/**
 * A small HTTP server on loopback for pull tests: fixed bodies by path, or a handler for the
 * misbehaving cases (a stall, a reset half-way, a redirect, a server error). Stopped with every
 * connection destroyed, so a stalled download never keeps the run alive.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export type Route = Buffer | string | ((req: IncomingMessage, res: ServerResponse) => void);

export interface HttpFixture {
  /** `http://127.0.0.1:PORT` */
  base: string;
  routes: Map<string, Route>;
  /** Paths requested so far, in order. */
  requests: string[];
  close(): Promise<void>;
}

export async function startHttpFixture(): Promise<HttpFixture> {
  const routes = new Map<string, Route>();
  const requests: string[] = [];
  const sockets = new Set<Socket>();
  const server = http.createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    requests.push(path);
    const route = routes.get(path);
    if (route === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    } else if (typeof route === 'function') {
      route(req, res);
    } else {
      const body = Buffer.from(route);
      res.writeHead(200, { 'content-length': body.length, 'content-type': 'application/octet-stream' }).end(body);
    }
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    base: `http://127.0.0.1:${port}`,
    routes,
    requests,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

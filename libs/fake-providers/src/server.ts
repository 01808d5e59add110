import { IncomingHttpHeaders, Server } from 'node:http';
import { Http2SecureServer, Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import { IncomingMessage, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { AnswerBook, Counters } from './answers';

export type AnyRequest = IncomingMessage | Http2ServerRequest;
export type AnyResponse = ServerResponse | Http2ServerResponse;

/** Where a fake listens: loopback by default, a free port unless given. */
export interface ListenOptions {
  host?: string;
  port?: number;
  /** How many received requests to keep decoded for assertions (default 1000). */
  keepLast?: number;
}

export function readBody(req: AnyRequest, limit: number): Promise<Buffer | 'too large'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) over = true;
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(over ? 'too large' : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The request's headers without pseudo-headers and credentials, for the counters' last N. */
export function recordedHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers))
    if (!name.startsWith(':') && name !== 'authorization' && value !== undefined)
      kept[name] = Array.isArray(value) ? value.join(', ') : value;
  return kept;
}

export function send(res: AnyResponse, status: number, headers: Record<string, string>, body?: string | Buffer): void {
  if (res.writableEnded || res.destroyed) return;
  (res as ServerResponse).writeHead(status, headers);
  (res as ServerResponse).end(body);
}

/** The common part of the three fakes: a TLS server, its answers, latency and counters. */
export abstract class FakeServer {
  readonly answers: AnswerBook;
  readonly counters: Counters;
  protected server!: Http2SecureServer | Server;
  private listening: { host: string; port: number } | null = null;

  protected constructor(
    success: ConstructorParameters<typeof AnswerBook>[0],
    protected readonly listen: ListenOptions,
  ) {
    this.answers = new AnswerBook(success);
    this.counters = new Counters(listen.keepLast ?? 1000);
  }

  protected abstract createServer(): Http2SecureServer | Server;

  async start(): Promise<this> {
    this.server = this.createServer();
    this.server.on('secureConnection', () => this.counters.connections++);
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.listen.port ?? 0, this.listen.host ?? '127.0.0.1', () => resolve());
    });
    const address = this.server.address() as AddressInfo;
    this.listening = { host: address.address, port: address.port };
    return this;
  }

  get port(): number {
    if (!this.listening) throw new Error('the fake is not started');
    return this.listening.port;
  }

  get host(): string {
    if (!this.listening) throw new Error('the fake is not started');
    return this.listening.host;
  }

  /** `https://127.0.0.1:<port>`. */
  get origin(): string {
    return `https://${this.host}:${this.port}`;
  }

  /** Stops listening and ends every open connection (clients see a connection error). */
  async close(): Promise<void> {
    if (!this.server) return;
    const server = this.server;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      (server as Server).closeAllConnections?.();
      for (const session of this.sessions) session.destroy();
    });
  }

  protected readonly sessions = new Set<{ destroy(): void }>();
}

import { connect, type ConnectionOptions, type TLSSocket } from 'node:tls';

export interface RawResponse {
  readonly status: number;
  readonly body: Buffer;
  /** Lower-cased header names. */
  readonly headers: ReadonlyMap<string, string>;
}

interface Waiting {
  resolve(response: RawResponse): void;
  reject(error: Error): void;
}

const HEADER_END = Buffer.from('\r\n\r\n');

/**
 * A minimal HTTP/1.1 keep-alive client over one TLS socket, one request at a time. It adds almost
 * nothing on top of the socket, so the sub-millisecond latencies it measures belong to the server
 * (autocannon reports whole milliseconds only).
 */
export class KeepAliveClient {
  readonly #socket: TLSSocket;
  #buffer: Buffer = Buffer.alloc(0);
  #waiting: Waiting | undefined;
  #expected:
    { status: number; headers: Map<string, string>; length: number; start: number } | undefined;
  #closed = false;

  private constructor(socket: TLSSocket) {
    this.#socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    const fail = (error: Error) => {
      this.#closed = true;
      const waiting = this.#waiting;
      this.#waiting = undefined;
      waiting?.reject(error);
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('connection closed')));
  }

  static connect(port: number, options: ConnectionOptions = {}): Promise<KeepAliveClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({
        host: '127.0.0.1',
        port,
        servername: 'localhost',
        rejectUnauthorized: false,
        ...options,
      });
      socket.once('secureConnect', () => {
        socket.off('error', reject);
        resolve(new KeepAliveClient(socket));
      });
      socket.once('error', reject);
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  request(method: string, path: string, body?: Buffer): Promise<RawResponse> {
    if (this.#closed) return Promise.reject(new Error('connection closed'));
    if (this.#waiting) return Promise.reject(new Error('one request at a time'));
    const head =
      `${method} ${path} HTTP/1.1\r\nHost: localhost\r\n` +
      (body ? `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n` : '') +
      '\r\n';
    return new Promise((resolve, reject) => {
      this.#waiting = { resolve, reject };
      this.#socket.cork();
      this.#socket.write(head);
      if (body) this.#socket.write(body);
      this.#socket.uncork();
    });
  }

  post(path: string, body: Buffer): Promise<RawResponse> {
    return this.request('POST', path, body);
  }

  close(): void {
    this.#closed = true;
    this.#socket.destroy();
  }

  #onData(chunk: Buffer): void {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    if (!this.#expected) {
      const end = this.#buffer.indexOf(HEADER_END);
      if (end === -1) return;
      const lines = this.#buffer.subarray(0, end).toString('latin1').split('\r\n');
      const status = Number(lines[0]?.split(' ')[1]);
      const headers = new Map<string, string>();
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(':');
        if (colon > 0)
          headers.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
      }
      this.#expected = {
        status,
        headers,
        length: Number(headers.get('content-length') ?? 0),
        start: end + HEADER_END.length,
      };
    }
    const { status, headers, length, start } = this.#expected;
    if (this.#buffer.length < start + length) return;
    const body = this.#buffer.subarray(start, start + length);
    this.#buffer = this.#buffer.subarray(start + length);
    this.#expected = undefined;
    const waiting = this.#waiting;
    this.#waiting = undefined;
    if (headers.get('connection') === 'close') this.close();
    waiting?.resolve({ status, body, headers });
  }
}

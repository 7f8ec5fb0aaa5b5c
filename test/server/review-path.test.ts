import { createServer, request as httpRequest, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { MAX_BODY_BYTES } from '../../src/server/app.js';
import { deployment, makeReview } from '../helpers/reviews.js';
import { defaultWebhookApp } from '../helpers/app.js';

// Every admission request takes one path (src/server/review-handler.ts): whatever its spelling or
// encoding, it is answered there, and every refusal is a Kubernetes Status, never an allow.

const setup = defaultWebhookApp;

const reviewText = () =>
  JSON.stringify(makeReview({ object: deployment('web', { app: 'web', version: 'v1' }) }));

/** Posts bytes as given (supertest would serialise a Buffer sent as JSON). */
async function postBytes(
  app: RequestListener,
  path: string,
  headers: Record<string, string>,
  body: Buffer,
): Promise<{ status: number; body: unknown }> {
  const server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    return await new Promise((resolve, reject) => {
      const req = httpRequest(
        {
          host: '127.0.0.1',
          port,
          path,
          method: 'POST',
          headers: { ...headers, 'Content-Length': body.length },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown,
            }),
          );
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  } finally {
    server.close();
  }
}

function expectStatus(body: unknown, code: number, reason: string) {
  expect(body).toMatchObject({ apiVersion: 'v1', kind: 'Status', status: 'Failure', code, reason });
  expect(JSON.stringify(body)).not.toContain('"allowed"');
}

describe('the admission path', () => {
  it.each([
    ['gzip', gzipSync],
    ['deflate', deflateSync],
    ['br', brotliCompressSync],
  ] as const)('reads a %s body as the plain one', async (encoding, compress) => {
    const { app, lifecycle } = setup();
    const text = reviewText();
    const res = await postBytes(
      app,
      '/validate',
      { 'Content-Type': 'application/json', 'Content-Encoding': encoding },
      compress(Buffer.from(text)),
    );
    expect(res.status).toBe(200);
    expect((res.body as { response: unknown }).response).toEqual({
      uid: (JSON.parse(text) as { request: { uid: string } }).request.uid,
      allowed: true,
    });
    expect(lifecycle.inFlight).toBe(0);
  });

  it('answers paths spelled with other case or a trailing slash, as the routes did', async () => {
    const { app } = setup();
    for (const path of ['/Validate', '/validate/', '/MUTATE/?timeout=10s']) {
      const res = await request(app)
        .post(path)
        .set('Content-Type', 'application/json')
        .send(reviewText());
      expect(res.status, path).toBe(200);
      expect(res.body.kind).toBe('AdmissionReview');
    }
  });

  it('415 with a Status for an encoding it cannot read, counted once', async () => {
    const { app } = setup();
    const res = await request(app)
      .post('/mutate')
      .set('Content-Type', 'application/json')
      .set('Content-Encoding', 'zstd')
      .send(reviewText());
    expect(res.status).toBe(415);
    expectStatus(res.body, 415, 'UnsupportedMediaType');
    expect(res.body.message).toContain('zstd');
    const metrics = await request(app).get('/metrics');
    expect(metrics.text).toContain(
      'meshwarden_admission_rejected_bodies_total{endpoint="mutate",code="415"} 1',
    );
  });

  it('400 with a Status for a body that does not decompress', async () => {
    const { app, lifecycle } = setup();
    const res = await postBytes(
      app,
      '/validate',
      { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' },
      Buffer.from('not gzip at all'),
    );
    expect(res.status).toBe(400);
    expectStatus(res.body, 400, 'BadRequest');
    expect(lifecycle.inFlight).toBe(0);
  });

  it('413 with a Status for a small body that inflates past the limit', async () => {
    const { app, lifecycle } = setup();
    const bomb = gzipSync(Buffer.alloc(MAX_BODY_BYTES + 1024, 0x20));
    expect(bomb.length).toBeLessThan(64 * 1024);
    const res = await postBytes(
      app,
      '/validate',
      { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' },
      bomb,
    );
    expect(res.status).toBe(413);
    expectStatus(res.body, 413, 'RequestEntityTooLarge');
    expect(lifecycle.inFlight).toBe(0);
  });

  it('refusals before review are Status bodies with the reason for their code', async () => {
    const { app } = setup();
    const wrongType = await request(app)
      .post('/validate')
      .set('Content-Type', 'text/plain')
      .send('{}');
    expectStatus(wrongType.body, 415, 'UnsupportedMediaType');
    const notJson = await request(app)
      .post('/validate')
      .set('Content-Type', 'application/json')
      .send('{');
    expectStatus(notJson.body, 400, 'BadRequest');
    const notFound = await request(app).post('/admit').send('{}');
    expect(notFound.status).toBe(404);
    expectStatus(notFound.body, 404, 'NotFound');
  });
});

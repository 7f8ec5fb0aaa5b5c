import { createServer, request as httpRequest } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { staticClusterView } from '../../src/admission/cluster-view.js';
import { AdmissionEngine } from '../../src/admission/engine.js';
import { startServe } from '../../src/cli/serve-command.js';
import { PolicyStore } from '../../src/policy/store.js';
import { defaultRules } from '../../src/rules/index.js';
import { createApp } from '../../src/server/app.js';
import { Lifecycle } from '../../src/server/lifecycle.js';
import { codeLabel, endpointLabel } from '../../src/observability/metric-labels.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { METRICS_SERVER_LIMITS } from '../../src/server/metrics-server.js';
import { parseServeFlags } from '../helpers/cli.js';
import { deployment, makeReview } from '../helpers/reviews.js';
import { get, post, startTestWebhook, type TestWebhook } from '../helpers/webhook.js';

let running: TestWebhook | undefined;
afterEach(async () => {
  await running?.stop();
  running = undefined;
});

function httpGet(
  port: number,
  path: string,
  method = 'GET',
): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('--metrics-port: /metrics on a plain-HTTP listener of its own', () => {
  it('serves GET /metrics in Prometheus text there, and no longer on the HTTPS port', async () => {
    running = await startTestWebhook({ metricsPort: 0 });
    const { webhook, port, bundle } = running;
    const metricsPort = webhook.metricsServer!.port;
    expect(metricsPort).not.toBe(port);
    const review = makeReview({ object: deployment('web', { app: 'web', version: 'v1' }) });
    expect(
      (await post(port, '/validate', JSON.stringify(review), { ca: bundle.caCert })).status,
    ).toBe(200);

    const scrape = await httpGet(metricsPort, '/metrics');
    expect(scrape.status).toBe(200);
    expect(scrape.headers['content-type']).toContain('text/plain');
    expect(scrape.body).toContain(
      'meshwarden_admission_requests_total{endpoint="validate",kind="Deployment",operation="CREATE",decision="allowed"} 1',
    );
    expect((await httpGet(metricsPort, '/metrics?name[]=x')).status).toBe(200);

    const onAdmission = await get(port, '/metrics', bundle.caCert);
    expect(onAdmission.status).toBe(404);
    expect(onAdmission.body).not.toContain('meshwarden_');
    // Probes stay on the HTTPS port.
    expect((await get(port, '/healthz', bundle.caCert)).status).toBe(200);
    expect((await get(port, '/readyz', bundle.caCert)).status).toBe(200);
  });

  it('serves nothing else: other paths 404, other methods 405, HEAD without a body', async () => {
    running = await startTestWebhook({ metricsPort: 0 });
    const metricsPort = running.webhook.metricsServer!.port;
    for (const path of [
      '/',
      '/healthz',
      '/readyz',
      '/validate',
      '/mutate',
      '/metrics/',
      '/METRICS',
    ])
      expect((await httpGet(metricsPort, path)).status, path).toBe(404);
    const posted = await httpGet(metricsPort, '/metrics', 'POST');
    expect(posted.status).toBe(405);
    expect(posted.headers.allow).toBe('GET, HEAD');
    const head = await httpGet(metricsPort, '/metrics', 'HEAD');
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
  });

  it('without the flag, /metrics stays on the HTTPS port (npm start) and no other port is opened', async () => {
    running = await startTestWebhook();
    expect(running.webhook.metricsServer).toBeUndefined();
    const scrape = await get(running.port, '/metrics', running.bundle.caCert);
    expect(scrape.status).toBe(200);
    expect(scrape.body).toContain('meshwarden_admission_requests_total');
  });

  it(`holds at most ${METRICS_SERVER_LIMITS.maxConnections} connections, whoever opens them`, async () => {
    running = await startTestWebhook({ metricsPort: 0 });
    const metricsPort = running.webhook.metricsServer!.port;
    const extra = 8;
    const sockets: Socket[] = [];
    let closed = 0;
    await Promise.all(
      Array.from(
        { length: METRICS_SERVER_LIMITS.maxConnections + extra },
        () =>
          new Promise<void>((resolve) => {
            const socket = connect(metricsPort, '127.0.0.1', () => resolve());
            socket.on('close', () => closed++);
            socket.on('error', () => {});
            sockets.push(socket);
          }),
      ),
    );
    // The server drops connections past its limit as they arrive.
    for (let i = 0; i < 50 && closed < extra; i++) await new Promise((r) => setTimeout(r, 20));
    expect(closed).toBe(extra);
    for (const s of sockets) s.destroy();
  });

  it('shuts its listener with the drain', async () => {
    const started = await startTestWebhook({ metricsPort: 0 });
    const metricsPort = started.webhook.metricsServer!.port;
    await started.stop();
    await expect(httpGet(metricsPort, '/metrics')).rejects.toThrow(/ECONNREFUSED/);
  });
});

describe('meshwarden serve --metrics-port flag', () => {
  const usage = async (args: string[]) => {
    const flags = await parseServeFlags(args);
    return startServe(flags, { logger: pino({ level: 'silent' }) }).then(
      async ({ webhook }) => {
        await webhook.shutdown(0);
        return 'started';
      },
      (e: unknown) => (e as Error).message,
    );
  };

  it('refuses a value that is not a port, and the admission port itself', async () => {
    expect(await usage(['--metrics-port', 'nine'])).toBe(
      '--metrics-port must be a port number; got nine',
    );
    expect(await usage(['--metrics-port', '70000'])).toBe(
      '--metrics-port must be a port number; got 70000',
    );
    expect(await usage(['--port', '9443', '--metrics-port', '9443'])).toBe(
      '--metrics-port must differ from --port (9443)',
    );
  });

  it('names the port when it is taken, and leaves nothing listening', async () => {
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, r));
    const port = (taken.address() as AddressInfo).port;
    try {
      expect(await usage(['--port', '0', '--metrics-port', String(port)])).toMatch(
        new RegExp(
          `^cannot serve metrics on port ${port}: listen EADDRINUSE.*; pass another --metrics-port$`,
        ),
      );
    } finally {
      taken.close();
    }
  });
});

describe('metric labels from request data', () => {
  /** The review listener with the default rules, its own metrics and no log. */
  const reviewApp = () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const lifecycle = new Lifecycle();
    lifecycle.tlsLoaded = true;
    const app = createApp({
      engine: new AdmissionEngine({
        rules: defaultRules(),
        policy: new PolicyStore(),
        cluster: staticClusterView(),
      }),
      metrics,
      logger: pino({ level: 'silent' }),
      lifecycle,
    });
    return { metrics, app };
  };
  it('holds endpoint and code to fixed sets', () => {
    expect(
      ['/mutate', '/validate', '/VALIDATE', '/Mutate/', '/x', '/metrics', ''].map(endpointLabel),
    ).toEqual(['mutate', 'validate', 'validate', 'mutate', 'other', 'other', 'other']);
    expect([400, 413, 415, 500, 418, 499].map(codeLabel)).toEqual([
      '400',
      '413',
      '415',
      '500',
      'other',
      'other',
    ]);
  });

  it('a client spelling the endpoints every way it can does not grow the series', async () => {
    const { metrics, app } = reviewApp();
    // Compressed bodies go through express, which matches paths case-insensitively and with a
    // trailing slash; a body that does not inflate is an error counted by endpoint.
    const spellings = [
      '/validate',
      '/VALIDATE',
      '/Validate/',
      '/vAlIdAtE',
      '/mutate',
      '/MUTATE/',
      '/MuTaTe',
    ];
    const garbage = Buffer.from('not gzip at all');
    for (const path of spellings)
      await request(app)
        .post(path)
        .set('Content-Type', 'application/json')
        .set('Content-Encoding', 'gzip')
        .send(garbage);
    const values = (await metrics.rejectedBodies.get()).values;
    const endpoints = new Set(values.map((v) => v.labels.endpoint));
    expect([...endpoints].sort()).toEqual(['mutate', 'validate']);
    expect(values.reduce((n, v) => n + v.value, 0)).toBe(spellings.length);
  });

  it('counts reviews of kinds no rule handles as kind "other"', async () => {
    const { metrics, app } = reviewApp();
    for (let i = 0; i < 20; i++) {
      const review = makeReview({
        object: { apiVersion: 'example.com/v1', kind: `Made${i}Up`, metadata: { name: 'x' } },
      });
      await request(app)
        .post('/validate')
        .set('Content-Type', 'application/json')
        .send(JSON.stringify(review));
    }
    const kinds = (await metrics.requests.get()).values.map((v) => v.labels.kind);
    expect(new Set(kinds)).toEqual(new Set(['other']));
  });

  // What the responder knows of kinds is worked out from the rules; made-up kinds add nothing.
  it('still labels and judges a handled kind after more made-up kinds than it keeps', async () => {
    const { metrics, app } = reviewApp();
    const post = (review: unknown) =>
      request(app)
        .post('/validate')
        .set('Content-Type', 'application/json')
        .send(JSON.stringify(review));
    for (let i = 0; i < 1100; i++)
      await post(
        makeReview({
          object: { apiVersion: 'example.com/v1', kind: `Made${i}Up`, metadata: { name: 'x' } },
        }),
      );
    const unlabelled = await post(makeReview({ object: deployment('web', { app: 'web' }) }));
    expect(unlabelled.body.response.allowed).toBe(false);
    const kinds = (await metrics.requests.get()).values.map((v) => v.labels.kind);
    expect(new Set(kinds)).toEqual(new Set(['other', 'Deployment']));
  });
});

import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { KubeConfig, Watch } from '@kubernetes/client-node';
import type { KubeObject } from '../k8s/objects.js';
import { isRecord } from '../util/objects.js';

/** Content types of PATCH bodies (client-node's PatchStrategy values). */
export const PATCH_TYPES = {
  apply: 'application/apply-patch+yaml',
  merge: 'application/merge-patch+json',
  json: 'application/json-patch+json',
} as const;
export type PatchType = (typeof PATCH_TYPES)[keyof typeof PATCH_TYPES];

/** The field manager meshwarden writes as (server-side apply and updates). */
export const FIELD_MANAGER = 'meshwarden';

export interface KubeList {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata: { resourceVersion?: string; continue?: string };
  readonly items: KubeObject[];
}

export type Query = Readonly<Record<string, string | undefined>>;

/** An error answer from the API server, with the Status fields worth logging. */
export class KubeApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly method: string,
    readonly path: string,
  ) {
    super(`${method} ${path}: ${code} ${reason}: ${message}`);
  }
}

export function isNotFound(error: unknown): boolean {
  return error instanceof KubeApiError && error.code === 404;
}

export function isConflict(error: unknown): boolean {
  return error instanceof KubeApiError && error.code === 409;
}

/**
 * The few calls the controller makes, on plain JSON. Objects never pass through client-node's
 * ObjectSerializer, which drops fields its models do not know (CRD fields, newer built-in
 * fields) and turns timestamps into Dates. client-node supplies the kubeconfig handling
 * (credentials, TLS, exec and token-file auth) and the watch stream.
 */
export interface KubeClient {
  readonly config: KubeConfig;
  readonly watch: Watch;
  request<T = unknown>(
    method: string,
    path: string,
    options?: { query?: Query; body?: unknown; contentType?: string },
  ): Promise<T>;
  /** The object, or undefined on 404. */
  get(path: string): Promise<KubeObject | undefined>;
  /** Every page of a list (`limit` 500), with the resourceVersion of the first page. */
  list(path: string, query?: Query): Promise<KubeList>;
  create(collectionPath: string, object: KubeObject): Promise<KubeObject>;
  replace(path: string, object: KubeObject): Promise<KubeObject>;
  patch(path: string, body: unknown, type: PatchType, query?: Query): Promise<KubeObject>;
  /** Server-side apply as meshwarden; `force` takes fields another manager changed. */
  apply(path: string, object: KubeObject, force?: boolean): Promise<KubeObject>;
  delete(path: string): Promise<void>;
}

const REQUEST_TIMEOUT_MS = 30_000;
const USER_AGENT = 'meshwarden/0.1';

export function createKubeClient(config: KubeConfig): KubeClient {
  const cluster = config.getCurrentCluster();
  if (!cluster) throw new Error('the kubeconfig has no current cluster');
  const server = cluster.server.replace(/\/+$/, '');

  const request = async <T>(
    method: string,
    path: string,
    options: { query?: Query; body?: unknown; contentType?: string } = {},
  ): Promise<T> => {
    const url = new URL(server + path);
    for (const [k, v] of Object.entries(options.query ?? {}))
      if (v !== undefined) url.searchParams.set(k, v);
    const opts: RequestOptions = { method, headers: {} };
    // Credentials (token files are re-read, exec plugins re-run) and the TLS agent, per call.
    await config.applyToHTTPSOptions(opts);
    const headers: Record<string, string> = {
      ...(opts.headers as Record<string, string>),
      Accept: 'application/json',
      'User-Agent': USER_AGENT,
    };
    let payload: Buffer | undefined;
    if (options.body !== undefined) {
      // JSON is valid YAML, so apply patches go as JSON too (kubernetes#88975).
      payload = Buffer.from(JSON.stringify(options.body));
      headers['Content-Type'] = options.contentType ?? 'application/json';
      headers['Content-Length'] = String(payload.length);
    }
    const send = url.protocol === 'http:' ? httpRequest : httpsRequest;
    const response = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = send(url, { ...opts, method, headers }, (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      });
      req.setTimeout(REQUEST_TIMEOUT_MS, () =>
        req.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS / 1000}s`)),
      );
      req.on('error', reject);
      req.end(payload);
    }).catch((error: unknown) => {
      throw new Error(`${method} ${path}: ${(error as Error).message}`, { cause: error });
    });
    let parsed: unknown;
    try {
      parsed = response.text === '' ? undefined : JSON.parse(response.text);
    } catch {
      parsed = response.text;
    }
    if (response.status >= 400) {
      const body = isRecord(parsed) ? parsed : {};
      throw new KubeApiError(
        response.status,
        typeof body.reason === 'string' ? body.reason : 'Unknown',
        typeof body.message === 'string' ? body.message : response.text.slice(0, 200),
        method,
        path,
      );
    }
    return parsed as T;
  };

  return {
    config,
    watch: new Watch(config),
    request,
    async get(path) {
      try {
        return await request<KubeObject>('GET', path);
      } catch (error) {
        if (isNotFound(error)) return undefined;
        throw error;
      }
    },
    async list(path, query = {}) {
      const items: KubeObject[] = [];
      let first: KubeList | undefined;
      let next: string | undefined;
      do {
        const page = await request<KubeList>('GET', path, {
          query: { ...query, limit: '500', ...(next ? { continue: next } : {}) },
        });
        first ??= page;
        items.push(...(page.items ?? []));
        next = page.metadata?.continue || undefined;
      } while (next !== undefined);
      return { ...first, items };
    },
    create: (collectionPath, object) =>
      request<KubeObject>('POST', collectionPath, {
        body: object,
        query: { fieldManager: FIELD_MANAGER },
      }),
    replace: (path, object) =>
      request<KubeObject>('PUT', path, { body: object, query: { fieldManager: FIELD_MANAGER } }),
    patch: (path, body, type, query = {}) =>
      request<KubeObject>('PATCH', path, {
        body,
        contentType: type,
        query: { fieldManager: FIELD_MANAGER, ...query },
      }),
    apply: (path, object, force = true) =>
      request<KubeObject>('PATCH', path, {
        body: object,
        contentType: PATCH_TYPES.apply,
        query: { fieldManager: FIELD_MANAGER, ...(force ? { force: 'true' } : {}) },
      }),
    async delete(path) {
      try {
        await request('DELETE', path, {
          body: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Background' },
        });
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    },
  };
}

export interface KubeConfigSource {
  /** A kubeconfig file (out of cluster). */
  readonly kubeconfig?: string;
  /** The pod's service account (in cluster). */
  readonly inCluster?: boolean;
}

/** Loads and checks a kubeconfig; errors name the file and what is wrong, in one line. */
export async function loadKubeConfig(source: KubeConfigSource): Promise<KubeConfig> {
  const config = new KubeConfig();
  if (source.inCluster) {
    if (!process.env.KUBERNETES_SERVICE_HOST)
      throw new Error('--in-cluster: KUBERNETES_SERVICE_HOST is not set (not running in a pod)');
    config.loadFromCluster();
  } else if (source.kubeconfig !== undefined) {
    try {
      config.loadFromFile(source.kubeconfig);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new Error(
        `--kubeconfig ${source.kubeconfig}: ${code ?? (error as Error).message.split('\n')[0]}`,
      );
    }
  } else {
    throw new Error('no cluster given: use --in-cluster or --kubeconfig');
  }
  const where = source.inCluster ? '--in-cluster' : `--kubeconfig ${source.kubeconfig}`;
  if (!config.getCurrentCluster())
    throw new Error(`${where}: no current cluster (current-context "${config.currentContext}")`);
  try {
    // Surfaces unusable settings now (e.g. an http:// server without insecure-skip-tls-verify).
    await config.applyToHTTPSOptions({});
  } catch (error) {
    throw new Error(`${where}: ${(error as Error).message.split('\n')[0]}`);
  }
  return config;
}

/** `/api/v1` or `/apis/<group>/<version>`. */
export function apiPrefix(apiVersion: string): string {
  return apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
}

/** The collection path of a resource, namespaced when `namespace` is given. */
export function collectionPath(apiVersion: string, resource: string, namespace?: string): string {
  return namespace === undefined
    ? `${apiPrefix(apiVersion)}/${resource}`
    : `${apiPrefix(apiVersion)}/namespaces/${encodeURIComponent(namespace)}/${resource}`;
}

export function objectPath(
  apiVersion: string,
  resource: string,
  namespace: string | undefined,
  name: string,
): string {
  return `${collectionPath(apiVersion, resource, namespace)}/${encodeURIComponent(name)}`;
}

/**
 * A loopback fake of kube-apiserver's REST protocol, over plain HTTP, for controller tests.
 *
 * What it speaks, as the real server does:
 * - discovery: `/api`, `/api/v1`, `/apis`, `/apis/<group>`, `/apis/<group>/<version>`, `/version`;
 * - list with `resourceVersion`, `labelSelector`, `fieldSelector` (`metadata.name`,
 *   `metadata.namespace`); watch (`?watch=true`) as chunked JSON lines, replaying history after
 *   the given resourceVersion, with objects entering or leaving a selector sent as ADDED/DELETED;
 *   a resourceVersion older than the last `compact()` gets an ERROR event with a 410 Status;
 * - GET, POST (409 AlreadyExists), PUT (409 Conflict on a stale resourceVersion), DELETE (with
 *   background garbage collection of dependents by ownerReference uid);
 * - PATCH: `application/apply-patch+yaml` (server-side apply: `fieldManager` required, field
 *   ownership, 409 conflicts unless `force=true`, no-op applies change nothing),
 *   `application/merge-patch+json`, `application/strategic-merge-patch+json` (treated as a merge
 *   patch) and `application/json-patch+json`;
 * - `metadata.managedFields`, `uid`, `creationTimestamp`, `generation`; one resourceVersion
 *   counter for everything; every served version of a resource shares one storage (CRD
 *   `conversion: None`: only `apiVersion` changes).
 *
 * Creating a CustomResourceDefinition serves its versions at once; deleting it stops serving them.
 *
 * What it does not do: authentication (the bearer token is only recorded), admission, namespace
 * existence checks, protobuf, pagination (`limit` is ignored), status subresources.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyPatch, type Operation } from 'rfc6902';
import { parse as parseYaml } from 'yaml';
import {
  clone,
  deepEqual,
  isObject,
  mergePatch,
  recordUpdate,
  renderManagedFields,
  serverSideApply,
  type Json,
  type JsonObject,
  type ManagerEntry,
} from './fake-api-field-manager.js';

export interface ResourceDefinition {
  readonly group: string;
  /** Served versions, preferred first. */
  readonly versions: readonly string[];
  readonly resource: string;
  readonly kind: string;
  readonly namespaced: boolean;
  /** Built-in kinds are listed without apiVersion/kind on items, as the real server does. */
  readonly builtin?: boolean;
}

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: Record<string, string>;
  readonly contentType: string | undefined;
  readonly token: string | undefined;
  readonly body: unknown;
  status: number;
}

interface Stored {
  object: JsonObject;
  managers: ManagerEntry[];
}

interface HistoryEvent {
  readonly rv: number;
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED';
  readonly object: JsonObject;
  readonly previous: JsonObject | undefined;
}

interface Watcher {
  readonly key: string;
  readonly version: string;
  readonly group: string;
  readonly namespace: string | undefined;
  readonly selectors: Selectors;
  readonly res: ServerResponse;
}

interface Selectors {
  readonly label: ((labels: Record<string, string>) => boolean) | undefined;
  readonly field: ((object: JsonObject) => boolean) | undefined;
}

interface Failure {
  readonly match: (request: RecordedRequest) => boolean;
  readonly status: number;
  remaining: number;
}

interface ParsedPath {
  readonly def: ResourceDefinition;
  readonly version: string;
  readonly namespace: string | undefined;
  readonly name: string | undefined;
  readonly subresource: string | undefined;
}

const BUILTIN_RESOURCES: ResourceDefinition[] = [
  { group: '', versions: ['v1'], resource: 'namespaces', kind: 'Namespace', namespaced: false },
  { group: '', versions: ['v1'], resource: 'configmaps', kind: 'ConfigMap', namespaced: true },
  { group: '', versions: ['v1'], resource: 'secrets', kind: 'Secret', namespaced: true },
  { group: '', versions: ['v1'], resource: 'events', kind: 'Event', namespaced: true },
  { group: '', versions: ['v1'], resource: 'services', kind: 'Service', namespaced: true },
  {
    group: 'apps',
    versions: ['v1'],
    resource: 'deployments',
    kind: 'Deployment',
    namespaced: true,
  },
  {
    group: 'coordination.k8s.io',
    versions: ['v1'],
    resource: 'leases',
    kind: 'Lease',
    namespaced: true,
  },
  {
    group: 'discovery.k8s.io',
    versions: ['v1'],
    resource: 'endpointslices',
    kind: 'EndpointSlice',
    namespaced: true,
  },
  {
    group: 'admissionregistration.k8s.io',
    versions: ['v1'],
    resource: 'mutatingwebhookconfigurations',
    kind: 'MutatingWebhookConfiguration',
    namespaced: false,
  },
  {
    group: 'admissionregistration.k8s.io',
    versions: ['v1'],
    resource: 'validatingwebhookconfigurations',
    kind: 'ValidatingWebhookConfiguration',
    namespaced: false,
  },
  {
    group: 'apiextensions.k8s.io',
    versions: ['v1'],
    resource: 'customresourcedefinitions',
    kind: 'CustomResourceDefinition',
    namespaced: false,
  },
].map((d) => ({ ...d, builtin: true }));

export class FakeApiServer {
  readonly requests: RecordedRequest[] = [];
  readonly #server: Server;
  readonly #defs = new Map<string, ResourceDefinition>();
  readonly #store = new Map<string, Map<string, Stored>>();
  readonly #history = new Map<string, HistoryEvent[]>();
  readonly #watchers = new Set<Watcher>();
  readonly #failures: Failure[] = [];
  #rv = 100;
  #compactedRv = 0;
  #url = '';

  private constructor() {
    this.#server = createServer((req, res) => {
      void this.#handle(req, res);
    });
    for (const def of BUILTIN_RESOURCES) this.defineResource(def);
  }

  static async start(): Promise<FakeApiServer> {
    const fake = new FakeApiServer();
    await new Promise<void>((resolve) => fake.#server.listen(0, '127.0.0.1', resolve));
    const { port } = fake.#server.address() as AddressInfo;
    fake.#url = `http://127.0.0.1:${port}`;
    return fake;
  }

  get url(): string {
    return this.#url;
  }

  get resourceVersion(): string {
    return String(this.#rv);
  }

  /** Serves a resource (a CRD being installed), in every listed version. */
  defineResource(def: ResourceDefinition): void {
    this.#defs.set(resourceKey(def.group, def.resource), def);
  }

  /** Stops serving a resource (a CRD being removed); stored objects stay, as in etcd. */
  removeResource(group: string, resource: string): void {
    this.#defs.delete(resourceKey(group, resource));
  }

  /** Serves what a CustomResourceDefinition manifest declares (served versions only). */
  installCrd(crd: unknown): ResourceDefinition {
    const spec = (crd as { spec: Record<string, unknown> }).spec;
    const names = spec.names as { plural: string; kind: string };
    const versions = (spec.versions as { name: string; served: boolean; storage: boolean }[])
      .filter((v) => v.served)
      // The storage version first, then the rest as listed (close to kube's priority order).
      .sort((a, b) => Number(b.storage) - Number(a.storage))
      .map((v) => v.name);
    const def: ResourceDefinition = {
      group: spec.group as string,
      versions,
      resource: names.plural,
      kind: names.kind,
      namespaced: spec.scope === 'Namespaced',
    };
    this.defineResource(def);
    return def;
  }

  /** A kubeconfig for client-node: plain HTTP, which it allows only with skipTLSVerify. */
  async writeKubeconfig(token = 'test-token', dir?: string): Promise<string> {
    const folder = dir ?? (await mkdtemp(join(tmpdir(), 'meshwarden-kube-')));
    const file = join(folder, `kubeconfig-${token}`);
    await writeFile(
      file,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        '- name: fake',
        '  cluster:',
        `    server: ${this.#url}`,
        '    insecure-skip-tls-verify: true',
        'users:',
        `- name: ${token}`,
        '  user:',
        `    token: ${token}`,
        'contexts:',
        '- name: fake',
        '  context:',
        '    cluster: fake',
        `    user: ${token}`,
        'current-context: fake',
        '',
      ].join('\n'),
    );
    return file;
  }

  // ---- direct access for tests (what kubectl or another controller would do) ----

  /** Creates or replaces an object as manager `manager`, emitting watch events. */
  upsert(object: Record<string, unknown>, manager = 'kubectl'): JsonObject {
    const { def, version } = this.#defFor(object);
    const meta = (object.metadata ?? {}) as JsonObject;
    const existing = this.#get(def, meta.namespace as string | undefined, meta.name as string);
    if (existing) {
      const next = clone(object) as JsonObject;
      (next.metadata as JsonObject).resourceVersion = existing.object.metadata
        ? ((existing.object.metadata as JsonObject).resourceVersion ?? null)
        : null;
      return this.#replace(def, version, existing, next, manager);
    }
    return this.#create(def, version, clone(object) as JsonObject, manager);
  }

  /** The stored object, in the version asked for (default: its own). */
  object(apiVersion: string, kind: string, namespace: string | undefined, name: string) {
    const { def } = this.#defFor({ apiVersion, kind });
    const stored = this.#get(def, namespace, name);
    return stored ? this.#render(stored, apiVersion) : undefined;
  }

  objects(apiVersion: string, kind: string, namespace?: string): JsonObject[] {
    const { def } = this.#defFor({ apiVersion, kind });
    return [...(this.#store.get(resourceKey(def.group, def.resource))?.values() ?? [])]
      .filter((s) => namespace === undefined || metaOf(s.object).namespace === namespace)
      .map((s) => this.#render(s, apiVersion));
  }

  remove(apiVersion: string, kind: string, namespace: string | undefined, name: string): boolean {
    const { def } = this.#defFor({ apiVersion, kind });
    const stored = this.#get(def, namespace, name);
    if (!stored) return false;
    this.#delete(def, stored);
    return true;
  }

  /** Forgets watch history: watches from an older resourceVersion get 410 Gone. */
  compact(): void {
    this.#compactedRv = this.#rv;
    for (const events of this.#history.values()) events.length = 0;
  }

  /** The next `times` requests matching `match` get an error Status with `status`. */
  failNext(match: (request: RecordedRequest) => boolean, status = 500, times = 1): void {
    this.#failures.push({ match, status, remaining: times });
  }

  /** Forgets failures not yet used up. */
  clearFailures(): void {
    this.#failures.length = 0;
  }

  /** Cuts every open watch connection mid-stream (a network error for the client). */
  dropWatches(): number {
    const n = this.#watchers.size;
    for (const w of this.#watchers) w.res.socket?.destroy();
    this.#watchers.clear();
    return n;
  }

  /** Ends every open watch cleanly (what the server does at the watch timeout). */
  endWatches(): void {
    for (const w of this.#watchers) w.res.end();
    this.#watchers.clear();
  }

  get openWatches(): number {
    return this.#watchers.size;
  }

  /** Requests that change state, optionally only those carrying `token`. */
  writes(token?: string): RecordedRequest[] {
    return this.requests.filter(
      (r) => r.method !== 'GET' && r.status < 400 && (token === undefined || r.token === token),
    );
  }

  async close(): Promise<void> {
    for (const w of this.#watchers) w.res.end();
    this.#watchers.clear();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  // ---- HTTP ----

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const raw = await readBody(req);
    const contentType = req.headers['content-type']?.split(';')[0]?.trim();
    let body: unknown;
    if (raw.length > 0) {
      try {
        body =
          contentType === 'application/apply-patch+yaml'
            ? parseYaml(raw.toString('utf8'))
            : JSON.parse(raw.toString('utf8'));
      } catch (error) {
        body = raw.toString('utf8');
        void error;
      }
    }
    const auth = req.headers.authorization;
    const recorded: RecordedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      contentType,
      token: auth?.startsWith('Bearer ') ? auth.slice(7) : undefined,
      body,
      status: 0,
    };
    this.requests.push(recorded);
    const send = (status: number, payload: unknown) => {
      recorded.status = status;
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(payload));
    };
    const failure = this.#failures.find((f) => f.remaining > 0 && f.match(recorded));
    if (failure) {
      failure.remaining--;
      send(failure.status, status(failure.status, 'InternalError', 'injected failure'));
      return;
    }
    try {
      const result = this.#route(recorded, url, body, res);
      if (result === 'streaming') {
        recorded.status = 200;
        return;
      }
      send(result.status, result.body);
    } catch (error) {
      if (error instanceof ApiError) send(error.code, error.toStatus());
      else send(500, status(500, 'InternalError', (error as Error).message));
    }
  }

  #route(
    request: RecordedRequest,
    url: URL,
    body: unknown,
    res: ServerResponse,
  ): { status: number; body: unknown } | 'streaming' {
    const path = url.pathname.replace(/\/+$/, '');
    const method = request.method;
    if (method === 'GET') {
      const discovery = this.#discovery(path);
      if (discovery !== undefined) return { status: 200, body: discovery };
    }
    const parsed = this.#parsePath(path);
    const { def, version, namespace, name, subresource } = parsed;
    if (subresource !== undefined)
      throw new ApiError(404, 'NotFound', `subresource ${subresource} is not served by the fake`);
    const apiVersion = def.group === '' ? version : `${def.group}/${version}`;
    const query = request.query;
    const manager = query.fieldManager;
    if (name === undefined) {
      if (method === 'GET') {
        const selectors = parseSelectors(query.labelSelector, query.fieldSelector);
        if (query.watch === 'true' || query.watch === '1') {
          this.#watch(def, version, namespace, selectors, query, res);
          return 'streaming';
        }
        return { status: 200, body: this.#list(def, apiVersion, namespace, selectors) };
      }
      if (method === 'POST') {
        const object = requireObject(body);
        const meta = (object.metadata ?? {}) as JsonObject;
        if (def.namespaced) {
          if (meta.namespace !== undefined && meta.namespace !== namespace)
            throw new ApiError(
              400,
              'BadRequest',
              'the namespace of the provided object does not match the namespace sent on the request',
            );
          meta.namespace = namespace ?? null;
        }
        if (typeof meta.name !== 'string' && typeof meta.generateName === 'string')
          meta.name = `${meta.generateName}${randomUUID().slice(0, 5)}`;
        object.metadata = meta;
        return {
          status: 201,
          body: this.#create(def, version, object, manager ?? 'unknown'),
        };
      }
      throw new ApiError(405, 'MethodNotAllowed', `${method} is not allowed on a collection`);
    }

    const stored = this.#get(def, namespace, name);
    const notFound = () =>
      new ApiError(404, 'NotFound', `${def.resource}.${def.group || 'core'} "${name}" not found`, {
        name,
        group: def.group,
        kind: def.resource,
      });
    switch (method) {
      case 'GET':
        if (!stored) throw notFound();
        return { status: 200, body: this.#render(stored, apiVersion) };
      case 'DELETE':
        if (!stored) throw notFound();
        this.#delete(def, stored);
        return { status: 200, body: this.#render(stored, apiVersion) };
      case 'PUT': {
        if (!stored) throw notFound();
        const object = requireObject(body);
        checkName(object, name);
        return {
          status: 200,
          body: this.#replace(def, version, stored, object, manager ?? 'unknown'),
        };
      }
      case 'PATCH':
        return {
          status: 200,
          body: this.#patch(def, version, namespace, name, stored, request, body),
        };
      default:
        throw new ApiError(405, 'MethodNotAllowed', `${method} is not allowed`);
    }
  }

  #patch(
    def: ResourceDefinition,
    version: string,
    namespace: string | undefined,
    name: string,
    stored: Stored | undefined,
    request: RecordedRequest,
    body: unknown,
  ): JsonObject {
    const apiVersion = def.group === '' ? version : `${def.group}/${version}`;
    const manager = request.query.fieldManager;
    switch (request.contentType) {
      case 'application/apply-patch+yaml': {
        if (manager === undefined || manager === '')
          throw new ApiError(400, 'BadRequest', 'fieldManager is required for apply requests');
        const applied = requireObject(body);
        if (applied.apiVersion !== apiVersion || applied.kind !== def.kind)
          throw new ApiError(
            400,
            'BadRequest',
            `apply body is ${JSON.stringify(applied.apiVersion)} ${JSON.stringify(applied.kind)}, the URL is ${apiVersion} ${def.kind}`,
          );
        checkName(applied, name);
        const meta = (applied.metadata ?? {}) as JsonObject;
        if (def.namespaced) meta.namespace = namespace ?? null;
        for (const key of ['resourceVersion', 'managedFields', 'uid', 'creationTimestamp'])
          delete meta[key];
        const current = stored ? this.#strip(stored.object) : undefined;
        const result = serverSideApply(
          current,
          stored?.managers ?? [],
          applied,
          manager,
          apiVersion,
          request.query.force === 'true',
          now(),
        );
        if (result.conflicts.length > 0) {
          const message = `Apply failed with ${result.conflicts.length} conflict${result.conflicts.length === 1 ? '' : 's'}: ${result.conflicts
            .map((c) => `conflict with "${c.manager}": ${c.field}`)
            .join('; ')}`;
          throw new ApiError(409, 'Conflict', message, {
            causes: result.conflicts.map((c) => ({
              reason: 'FieldManagerConflict',
              message: `conflict with "${c.manager}"`,
              field: c.field,
            })),
          });
        }
        if (!stored) {
          const created = this.#create(def, version, result.object, manager, result.managers);
          return created;
        }
        return this.#commit(def, version, stored, result.object, result.managers);
      }
      case 'application/merge-patch+json':
      case 'application/strategic-merge-patch+json': {
        if (!stored) throw new ApiError(404, 'NotFound', `${def.resource} "${name}" not found`);
        const next = mergePatch(this.#strip(stored.object), body as Json) as JsonObject;
        return this.#replaceChecked(def, version, stored, next, manager ?? 'unknown');
      }
      case 'application/json-patch+json': {
        if (!stored) throw new ApiError(404, 'NotFound', `${def.resource} "${name}" not found`);
        if (!Array.isArray(body))
          throw new ApiError(400, 'BadRequest', 'a JSON patch must be an array of operations');
        const next = this.#strip(stored.object);
        const errors = applyPatch(next, body as Operation[]).filter((e) => e !== null);
        if (errors.length > 0)
          throw new ApiError(
            422,
            'Invalid',
            `the JSON patch does not apply: ${errors[0]?.message}`,
          );
        return this.#replaceChecked(def, version, stored, next, manager ?? 'unknown');
      }
      case undefined:
      default:
        throw new ApiError(
          415,
          'UnsupportedMediaType',
          `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml`,
        );
    }
  }

  #discovery(path: string): unknown {
    if (path === '/version')
      return { major: '1', minor: '31', gitVersion: 'v1.31.0-fake', platform: 'linux/amd64' };
    if (path === '/api')
      return {
        kind: 'APIVersions',
        versions: ['v1'],
        serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '127.0.0.1' }],
      };
    if (path === '/api/v1') return this.#resourceList('', 'v1');
    if (path === '/apis') return { kind: 'APIGroupList', apiVersion: 'v1', groups: this.#groups() };
    const m = /^\/apis\/([^/]+)(?:\/([^/]+))?$/.exec(path);
    if (!m) return undefined;
    const [, group = '', version] = m;
    const info = this.#groups().find((g) => g.name === group);
    if (!info)
      throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    if (version === undefined) return { kind: 'APIGroup', apiVersion: 'v1', ...info };
    if (!info.versions.some((v) => v.version === version))
      throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    return this.#resourceList(group, version);
  }

  #groups() {
    const groups = new Map<string, string[]>();
    for (const def of this.#defs.values()) {
      if (def.group === '') continue;
      const versions = groups.get(def.group) ?? [];
      for (const v of def.versions) if (!versions.includes(v)) versions.push(v);
      groups.set(def.group, versions);
    }
    return [...groups].map(([name, versions]) => ({
      name,
      versions: versions.map((version) => ({ groupVersion: `${name}/${version}`, version })),
      preferredVersion: { groupVersion: `${name}/${versions[0]}`, version: versions[0] },
    }));
  }

  #resourceList(group: string, version: string) {
    return {
      kind: 'APIResourceList',
      apiVersion: 'v1',
      groupVersion: group === '' ? version : `${group}/${version}`,
      resources: [...this.#defs.values()]
        .filter((d) => d.group === group && d.versions.includes(version))
        .map((d) => ({
          name: d.resource,
          singularName: d.kind.toLowerCase(),
          namespaced: d.namespaced,
          kind: d.kind,
          verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
        })),
    };
  }

  #parsePath(path: string): ParsedPath {
    let group: string;
    let version: string;
    let rest: string[];
    const segments = path.split('/').filter(Boolean);
    if (segments[0] === 'api' && segments.length >= 3) {
      group = '';
      version = segments[1] ?? '';
      rest = segments.slice(2);
    } else if (segments[0] === 'apis' && segments.length >= 4) {
      group = segments[1] ?? '';
      version = segments[2] ?? '';
      rest = segments.slice(3);
    } else {
      throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    }
    let namespace: string | undefined;
    if (rest[0] === 'namespaces' && rest.length >= 3) {
      namespace = rest[1];
      rest = rest.slice(2);
    }
    const [resource = '', name, subresource] = rest;
    const def = this.#defs.get(resourceKey(group, resource));
    if (!def || !def.versions.includes(version))
      throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    if (def.namespaced && namespace === undefined && name !== undefined)
      throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    return { def, version, namespace: def.namespaced ? namespace : undefined, name, subresource };
  }

  #defFor(object: { apiVersion?: unknown; kind?: unknown }): {
    def: ResourceDefinition;
    version: string;
  } {
    const apiVersion = String(object.apiVersion);
    const slash = apiVersion.indexOf('/');
    const group = slash === -1 ? '' : apiVersion.slice(0, slash);
    const version = slash === -1 ? apiVersion : apiVersion.slice(slash + 1);
    const def = [...this.#defs.values()].find((d) => d.group === group && d.kind === object.kind);
    if (!def)
      throw new Error(`fake API server: ${apiVersion} ${String(object.kind)} is not defined`);
    return { def, version };
  }

  #get(def: ResourceDefinition, namespace: string | undefined, name: string): Stored | undefined {
    return this.#store
      .get(resourceKey(def.group, def.resource))
      ?.get(objectKey(def.namespaced ? namespace : undefined, name));
  }

  #list(
    def: ResourceDefinition,
    apiVersion: string,
    namespace: string | undefined,
    selectors: Selectors,
  ) {
    const items = [...(this.#store.get(resourceKey(def.group, def.resource))?.values() ?? [])]
      .filter((s) => namespace === undefined || metaOf(s.object).namespace === namespace)
      .filter((s) => matches(s.object, selectors))
      .map((s) => {
        const item = this.#render(s, apiVersion);
        if (def.builtin) {
          delete item.apiVersion;
          delete item.kind;
        }
        return item;
      });
    return {
      apiVersion,
      kind: `${def.kind}List`,
      metadata: { resourceVersion: String(this.#rv) },
      items,
    };
  }

  #watch(
    def: ResourceDefinition,
    version: string,
    namespace: string | undefined,
    selectors: Selectors,
    query: Record<string, string>,
    res: ServerResponse,
  ): void {
    const key = resourceKey(def.group, def.resource);
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
    res.flushHeaders();
    const watcher: Watcher = { key, version, group: def.group, namespace, selectors, res };
    const from = query.resourceVersion;
    if (from !== undefined && from !== '' && from !== '0') {
      const rv = Number(from);
      if (!Number.isInteger(rv) || rv < this.#compactedRv) {
        res.write(
          `${JSON.stringify({
            type: 'ERROR',
            object: status(
              410,
              'Expired',
              `too old resource version: ${from} (${this.#compactedRv})`,
            ),
          })}\n`,
        );
        res.end();
        return;
      }
      for (const event of this.#history.get(key) ?? [])
        if (event.rv > rv) this.#send(watcher, event);
    } else {
      for (const stored of this.#store.get(key)?.values() ?? []) {
        this.#send(watcher, {
          rv: this.#rv,
          type: 'ADDED',
          object: this.#render(stored),
          previous: undefined,
        });
      }
    }
    this.#watchers.add(watcher);
    res.on('close', () => this.#watchers.delete(watcher));
    const timeout = Number(query.timeoutSeconds);
    if (Number.isFinite(timeout) && timeout > 0) {
      const timer = setTimeout(() => {
        this.#watchers.delete(watcher);
        res.end();
      }, timeout * 1000);
      res.on('close', () => clearTimeout(timer));
    }
  }

  #send(watcher: Watcher, event: HistoryEvent): void {
    if (watcher.res.writableEnded) return;
    const object = event.object;
    if (watcher.namespace !== undefined && metaOf(object).namespace !== watcher.namespace) return;
    const now = matches(object, watcher.selectors);
    const before =
      event.previous !== undefined ? matches(event.previous, watcher.selectors) : false;
    let type: HistoryEvent['type'] | undefined;
    if (event.type === 'DELETED') type = now ? 'DELETED' : undefined;
    else if (event.type === 'ADDED') type = now ? 'ADDED' : undefined;
    else if (now && before) type = 'MODIFIED';
    else if (now) type = 'ADDED';
    else if (before) type = 'DELETED';
    if (type === undefined) return;
    const apiVersion =
      watcher.group === '' ? watcher.version : `${watcher.group}/${watcher.version}`;
    watcher.res.write(`${JSON.stringify({ type, object: { ...object, apiVersion } })}\n`);
  }

  #emit(
    def: ResourceDefinition,
    type: HistoryEvent['type'],
    stored: Stored,
    previous?: JsonObject,
  ) {
    const key = resourceKey(def.group, def.resource);
    const event: HistoryEvent = {
      rv: this.#rv,
      type,
      object: this.#render(stored),
      previous,
    };
    const history = this.#history.get(key) ?? [];
    history.push(event);
    this.#history.set(key, history);
    for (const watcher of this.#watchers) if (watcher.key === key) this.#send(watcher, event);
  }

  #create(
    def: ResourceDefinition,
    version: string,
    object: JsonObject,
    manager: string,
    managers?: ManagerEntry[],
  ): JsonObject {
    const meta = (object.metadata ?? {}) as JsonObject;
    const name = meta.name;
    if (typeof name !== 'string' || name === '')
      throw new ApiError(
        422,
        'Invalid',
        'metadata.name: Required value: name or generateName is required',
      );
    const key = resourceKey(def.group, def.resource);
    const bucket = this.#store.get(key) ?? new Map<string, Stored>();
    this.#store.set(key, bucket);
    const id = objectKey(def.namespaced ? (meta.namespace as string) : undefined, name);
    if (bucket.has(id))
      throw new ApiError(
        409,
        'AlreadyExists',
        `${def.resource}.${def.group || 'core'} "${name}" already exists`,
        {
          name,
          group: def.group,
          kind: def.resource,
        },
      );
    const apiVersion = def.group === '' ? version : `${def.group}/${version}`;
    const body = this.#strip(object);
    const owners = managers ?? recordUpdate(undefined, body, [], manager, apiVersion, now());
    const metadata = body.metadata as JsonObject;
    metadata.uid = randomUUID();
    metadata.creationTimestamp = now();
    metadata.generation = 1;
    metadata.resourceVersion = String(++this.#rv);
    body.apiVersion = apiVersion;
    body.kind = def.kind;
    const stored: Stored = { object: body, managers: owners };
    bucket.set(id, stored);
    // A CustomResourceDefinition is served as soon as it is stored (Established at once).
    if (def.group === 'apiextensions.k8s.io' && def.resource === 'customresourcedefinitions')
      this.installCrd(body);
    this.#emit(def, 'ADDED', stored);
    return this.#render(stored, apiVersion);
  }

  #replace(
    def: ResourceDefinition,
    version: string,
    stored: Stored,
    object: JsonObject,
    manager: string,
  ): JsonObject {
    const sent = metaOf(object).resourceVersion;
    const current = metaOf(stored.object).resourceVersion;
    if (sent !== undefined && sent !== null && sent !== '' && sent !== current)
      throw new ApiError(
        409,
        'Conflict',
        `Operation cannot be fulfilled on ${def.resource}.${def.group || 'core'} "${JSON.stringify(metaOf(object).name)}": the object has been modified; please apply your changes to the latest version and try again`,
      );
    return this.#replaceChecked(def, version, stored, object, manager);
  }

  #replaceChecked(
    def: ResourceDefinition,
    version: string,
    stored: Stored,
    object: JsonObject,
    manager: string,
  ): JsonObject {
    const apiVersion = def.group === '' ? version : `${def.group}/${version}`;
    const next = this.#strip(object);
    const managers = recordUpdate(
      this.#strip(stored.object),
      next,
      stored.managers,
      manager,
      apiVersion,
      now(),
    );
    return this.#commit(def, version, stored, next, managers);
  }

  /** Writes `object` over `stored` unless nothing changed (no new resourceVersion, no event). */
  #commit(
    def: ResourceDefinition,
    version: string,
    stored: Stored,
    object: JsonObject,
    managers: ManagerEntry[],
  ): JsonObject {
    const apiVersion = def.group === '' ? version : `${def.group}/${version}`;
    const before = this.#strip(stored.object);
    const sameManagers = deepEqual(
      stored.managers.map((m) => [m.manager, m.operation, [...m.fields].sort()]),
      managers.map((m) => [m.manager, m.operation, [...m.fields].sort()]),
    );
    if (deepEqual(before, object) && sameManagers) return this.#render(stored, apiVersion);
    const previous = this.#render(stored);
    const oldMeta = metaOf(stored.object);
    const next = clone(object);
    const meta = next.metadata as JsonObject;
    meta.uid = oldMeta.uid ?? null;
    meta.creationTimestamp = oldMeta.creationTimestamp ?? null;
    meta.generation = (oldMeta.generation as number) + (deepEqual(before.spec, next.spec) ? 0 : 1);
    meta.resourceVersion = String(++this.#rv);
    next.apiVersion = apiVersion;
    next.kind = def.kind;
    stored.object = next;
    stored.managers = managers;
    this.#emit(def, 'MODIFIED', stored, previous);
    return this.#render(stored, apiVersion);
  }

  #delete(def: ResourceDefinition, stored: Stored): void {
    const key = resourceKey(def.group, def.resource);
    const meta = metaOf(stored.object);
    this.#store
      .get(key)
      ?.delete(objectKey(meta.namespace as string | undefined, meta.name as string));
    ++this.#rv;
    const last = this.#render(stored);
    (last.metadata as JsonObject).resourceVersion = String(this.#rv);
    this.#emit(def, 'DELETED', { object: last, managers: stored.managers });
    if (def.group === 'apiextensions.k8s.io' && def.resource === 'customresourcedefinitions') {
      const spec = stored.object.spec as { group: string; names: { plural: string } };
      this.removeResource(spec.group, spec.names.plural);
    }
    // Background garbage collection: dependents go with their owner.
    const uid = meta.uid;
    for (const [depKey, bucket] of this.#store) {
      const depDef = this.#defs.get(depKey);
      for (const dependent of [...bucket.values()]) {
        const refs = metaOf(dependent.object).ownerReferences;
        if (Array.isArray(refs) && refs.some((r) => isObject(r) && r.uid === uid) && depDef)
          this.#delete(depDef, dependent);
      }
    }
  }

  /** The object without server-owned metadata, as writes see it. */
  #strip(object: JsonObject): JsonObject {
    const copy = clone(object);
    const meta = isObject(copy.metadata) ? copy.metadata : {};
    for (const key of [
      'managedFields',
      'resourceVersion',
      'uid',
      'creationTimestamp',
      'generation',
    ])
      delete meta[key];
    copy.metadata = meta;
    delete copy.apiVersion;
    delete copy.kind;
    return copy;
  }

  #render(stored: Stored, apiVersion?: string): JsonObject {
    const copy = clone(stored.object);
    if (apiVersion !== undefined) copy.apiVersion = apiVersion;
    (copy.metadata as JsonObject).managedFields = renderManagedFields(stored.managers);
    return copy;
  }
}

class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }

  toStatus() {
    return status(this.code, this.reason, this.message, this.details);
  }
}

function status(code: number, reason: string, message: string, details?: Record<string, unknown>) {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    ...(details ? { details } : {}),
    code,
  };
}

function resourceKey(group: string, resource: string): string {
  return `${group}/${resource}`;
}

function objectKey(namespace: string | undefined, name: string): string {
  return `${namespace ?? ''}/${name}`;
}

function metaOf(object: JsonObject): JsonObject {
  return isObject(object.metadata) ? object.metadata : {};
}

function now(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z');
}

function requireObject(body: unknown): JsonObject {
  if (!isObject(body)) throw new ApiError(400, 'BadRequest', 'the request body is not an object');
  return clone(body);
}

function checkName(object: JsonObject, name: string): void {
  const given = metaOf(object).name;
  if (given !== undefined && given !== name)
    throw new ApiError(
      400,
      'BadRequest',
      `the name of the object (${JSON.stringify(given)}) does not match the name on the URL (${name})`,
    );
  object.metadata = { ...metaOf(object), name };
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function matches(object: JsonObject, selectors: Selectors): boolean {
  const meta = metaOf(object);
  const labels = (isObject(meta.labels) ? meta.labels : {}) as Record<string, string>;
  if (selectors.label && !selectors.label(labels)) return false;
  if (selectors.field && !selectors.field(object)) return false;
  return true;
}

function parseSelectors(label: string | undefined, field: string | undefined): Selectors {
  return {
    label: label ? parseLabelSelector(label) : undefined,
    field: field ? parseFieldSelector(field) : undefined,
  };
}

/** Equality, inequality, existence and set-based requirements, comma-separated. */
export function parseLabelSelector(selector: string): (labels: Record<string, string>) => boolean {
  const tests: ((labels: Record<string, string>) => boolean)[] = [];
  const re =
    /\s*([^,!=\s()]+)\s+(in|notin)\s+\(([^)]*)\)\s*|\s*([^,!=\s()]+)\s*(==|=|!=)\s*([^,\s]*)\s*|\s*(!?)([^,!=\s()]+)\s*/gy;
  let m: RegExpExecArray | null;
  let pos = 0;
  while (pos < selector.length && (m = re.exec(selector)) !== null) {
    pos = re.lastIndex;
    if (m[1] !== undefined) {
      const key = m[1];
      const values = (m[3] ?? '').split(',').map((v) => v.trim());
      const inSet = m[2] === 'in';
      tests.push((l) => (key in l && values.includes(l[key] ?? '')) === inSet);
    } else if (m[4] !== undefined) {
      const key = m[4];
      const value = m[6] ?? '';
      const equal = m[5] !== '!=';
      tests.push((l) => (l[key] === value) === equal);
    } else if (m[8] !== undefined) {
      const key = m[8];
      const negate = m[7] === '!';
      tests.push((l) => key in l !== negate);
    }
    if (selector[pos] === ',') {
      pos++;
      re.lastIndex = pos;
    }
  }
  return (labels) => tests.every((t) => t(labels));
}

function parseFieldSelector(selector: string): (object: JsonObject) => boolean {
  const tests = selector.split(',').map((term) => {
    const m = /^([^!=]+)(==|=|!=)(.*)$/.exec(term.trim());
    if (!m) throw new ApiError(400, 'BadRequest', `invalid field selector: ${term}`);
    const [, path = '', op, value] = m;
    if (path !== 'metadata.name' && path !== 'metadata.namespace')
      throw new ApiError(400, 'BadRequest', `field label not supported: ${path}`);
    const key = path.split('.')[1] ?? '';
    return (object: JsonObject) => (metaOf(object)[key] === value) === (op !== '!=');
  });
  return (object) => tests.every((t) => t(object));
}

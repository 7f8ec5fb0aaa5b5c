import { CA_ROTATED_AT_ANNOTATION } from '../k8s/keys.js';
import { createPublicKey, X509Certificate } from 'node:crypto';
import { connect } from 'node:tls';
import type { Logger } from 'pino';
import type { KubeObject } from '../k8s/objects.js';
import { generateCa, issueLeaf, type CertificateAuthority } from '../pki/issue.js';
import { asArray, asRecord, asString } from '../util/objects.js';
import type { EventRecorder } from './events.js';
import { describeError, Informer, type InformerOptions } from './informer.js';
import { isConflict, PATCH_TYPES, type KubeClient } from './kube-client.js';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../k8s/keys.js';

const DAY_MS = 86_400_000;

export interface CertificateTiming {
  /** Serving certificate lifetime. */
  readonly leafDays: number;
  /** CA lifetime. */
  readonly caDays: number;
  /** A certificate is renewed once this share of its lifetime has passed (cert-manager: 2/3). */
  readonly renewAt: number;
  /** After a new CA enters the caBundle, wait this long before serving a leaf it signed. */
  readonly caBundleGraceMs: number;
  /** How often the leader checks expiry and rotation progress. */
  readonly checkIntervalMs: number;
}

export const DEFAULT_CERTIFICATE_TIMING: CertificateTiming = {
  leafDays: 365,
  caDays: 3650,
  renewAt: 2 / 3,
  caBundleGraceMs: 30_000,
  checkIntervalMs: 60_000,
};

/** Where the serving pair goes (the HTTPS server's `useKeyPair`). */
export interface KeyPairSink {
  useKeyPair(cert: string, key: string): boolean;
}

/** Does every replica behind the Service serve the certificate with this fingerprint? */
export type ReplicaProbe = (fingerprint256: string) => Promise<{ ok: boolean; detail: string }>;

export interface CertificateManagerOptions {
  readonly client: KubeClient;
  readonly namespace: string;
  readonly secretName: string;
  readonly service: string;
  /** Webhook configurations whose every entry gets the CA bundle (unset: not managed). */
  readonly mutatingWebhook?: string;
  readonly validatingWebhook?: string;
  readonly isLeader: () => boolean;
  readonly logger: Logger;
  readonly events: EventRecorder;
  readonly informer: Omit<InformerOptions, 'logger'>;
  readonly timing?: Partial<CertificateTiming>;
  readonly probe?: ReplicaProbe;
  readonly clock?: () => Date;
}

/** What the TLS Secret holds, parsed. */
export interface SecretState {
  /** `ca.crt`: the CA bundle, newest CA first. */
  readonly bundle: readonly X509Certificate[];
  readonly caKey: string | undefined;
  /** The bundle entry whose key is `ca.key`. */
  readonly currentCa: X509Certificate | undefined;
  readonly leaf: X509Certificate | undefined;
  /** `tls.crt` as stored. */
  readonly leafPem: string | undefined;
  readonly leafKey: string | undefined;
  readonly rotatedAt: number | undefined;
}

export type CertificateStep =
  | { readonly action: 'create-ca'; readonly reason: string }
  | { readonly action: 'issue-leaf'; readonly reason: string }
  | { readonly action: 'wait'; readonly reason: string }
  | { readonly action: 'drop-old-cas'; readonly probe: boolean; readonly reason: string }
  | { readonly action: 'none' };

/**
 * The next step for the TLS Secret (docs/cluster.md, "Certificates"). A CA rotation happens in
 * three steps so that the API server never meets a certificate it cannot verify:
 * 1. `create-ca`: a new CA is added at the head of `ca.crt` (the old CAs stay) and becomes
 *    `ca.key`; the serving pair is unchanged; the caBundle of both webhook configurations is
 *    updated to the new bundle.
 * 2. `issue-leaf`: once both webhook configurations carry the new CA and the grace period has
 *    passed, a serving certificate signed by the new CA is written; replicas put it in use as
 *    soon as their watch sees it.
 * 3. `drop-old-cas`: once every ready endpoint of the Service serves the new certificate (a TLS
 *    handshake with each), the old CAs leave the bundle. Expired CAs leave without asking.
 */
export function planCertificates(
  state: SecretState,
  now: Date,
  context: {
    readonly timing: CertificateTiming;
    readonly hostname: string;
    /** Both webhook configurations carry `state.currentCa`. */
    readonly bundlePublished: boolean;
  },
): CertificateStep {
  const t = now.getTime();
  const { timing } = context;
  const leafUsable = usableLeaf(state, t, context.hostname);
  const ca = state.currentCa;
  if (!ca) return { action: 'create-ca', reason: 'no CA key in the Secret' };
  if (due(ca, t, timing.renewAt))
    return { action: 'create-ca', reason: `the CA expires ${ca.validTo}` };
  if (Date.parse(ca.validTo) - t < timing.leafDays * DAY_MS * (1 - timing.renewAt))
    return {
      action: 'create-ca',
      reason: 'the CA would expire before the next serving certificate',
    };
  if (!leafUsable) return { action: 'issue-leaf', reason: 'no usable serving certificate' };
  const leaf = state.leaf as X509Certificate;
  if (!signedBy(leaf, ca)) {
    const waited = t - (state.rotatedAt ?? 0);
    if (!context.bundlePublished)
      return { action: 'wait', reason: 'the webhook configurations do not carry the new CA yet' };
    if (waited < timing.caBundleGraceMs)
      return { action: 'wait', reason: 'letting the API servers see the new caBundle' };
    return { action: 'issue-leaf', reason: 'serving certificate from the new CA' };
  }
  if (due(leaf, t, timing.renewAt))
    return { action: 'issue-leaf', reason: `the serving certificate expires ${leaf.validTo}` };
  const others = state.bundle.filter((c) => c.fingerprint256 !== ca.fingerprint256);
  if (others.some((c) => Date.parse(c.validTo) <= t))
    return { action: 'drop-old-cas', probe: false, reason: 'expired CAs in the bundle' };
  if (others.length > 0)
    return { action: 'drop-old-cas', probe: true, reason: 'old CAs in the bundle' };
  return { action: 'none' };
}

/**
 * Self-managed certificates. Every replica watches the TLS Secret and puts its pair in use as
 * soon as it changes. The leader creates and rotates the CA and serving certificate in the
 * Secret and keeps `caBundle` of both webhook configurations equal to the Secret's `ca.crt`,
 * watching them so that a reset (helm upgrade, a GitOps sync) is repaired at once.
 */
export class CertificateManager {
  readonly #o: CertificateManagerOptions;
  readonly #timing: CertificateTiming;
  readonly #clock: () => Date;
  readonly secret: Informer;
  readonly #webhooks: { kind: string; resource: string; name: string; informer: Informer }[] = [];
  #sink: KeyPairSink | undefined;
  #lastPushed = '';
  #running: Promise<void> | undefined;
  #again = false;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(options: CertificateManagerOptions) {
    this.#o = options;
    this.#timing = { ...DEFAULT_CERTIFICATE_TIMING, ...options.timing };
    this.#clock = options.clock ?? (() => new Date());
    const informerOptions = { ...options.informer, logger: options.logger };
    this.secret = new Informer(
      options.client,
      {
        name: `secrets/${options.secretName}`,
        apiVersion: 'v1',
        kind: 'Secret',
        path: `/api/v1/namespaces/${encodeURIComponent(options.namespace)}/secrets`,
        fieldSelector: `metadata.name=${options.secretName}`,
      },
      informerOptions,
    );
    this.secret
      .on('add', (s) => this.#secretChanged(s))
      .on('update', (s) => this.#secretChanged(s));
    this.secret.on('delete', () => this.requestReconcile());
    const webhooks = [
      ['MutatingWebhookConfiguration', 'mutatingwebhookconfigurations', options.mutatingWebhook],
      [
        'ValidatingWebhookConfiguration',
        'validatingwebhookconfigurations',
        options.validatingWebhook,
      ],
    ] as const;
    for (const [kind, resource, name] of webhooks) {
      if (name === undefined) continue;
      const informer = new Informer(
        options.client,
        {
          name: `${resource}/${name}`,
          apiVersion: 'admissionregistration.k8s.io/v1',
          kind,
          path: `/apis/admissionregistration.k8s.io/v1/${resource}`,
          fieldSelector: `metadata.name=${name}`,
        },
        informerOptions,
      );
      informer.on('change', () => this.requestReconcile());
      this.#webhooks.push({ kind, resource, name, informer });
    }
  }

  /** The watches this manager keeps (the Secret first), for diagnostics and tests. */
  get informers(): readonly Informer[] {
    return [this.secret, ...this.#webhooks.map((w) => w.informer)];
  }

  /** Where the Secret's pair goes; the current pair is pushed at once if known. */
  attach(sink: KeyPairSink): void {
    this.#sink = sink;
    this.#lastPushed = '';
    const current = this.secret.get(this.#o.secretName, this.#o.namespace);
    if (current) this.#secretChanged(current);
  }

  start(): void {
    this.secret.start();
    for (const w of this.#webhooks) w.informer.start();
    void Promise.all([
      this.secret.synced(),
      ...this.#webhooks.map((w) => w.informer.synced()),
    ]).then(() => this.requestReconcile());
    this.#timer = setInterval(() => this.requestReconcile(), this.#timing.checkIntervalMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    await this.#running;
    await Promise.all([this.secret.stop(), ...this.#webhooks.map((w) => w.informer.stop())]);
  }

  /** Runs a leader reconcile soon (coalesced); a no-op on other replicas. */
  requestReconcile(): void {
    if (this.#stopped || !this.#o.isLeader()) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = this.reconcile()
      .catch((error: unknown) =>
        this.#o.logger.warn(
          { err: describeError(error) },
          'certificate reconcile failed; will retry',
        ),
      )
      .finally(() => {
        this.#running = undefined;
        if (this.#again) {
          this.#again = false;
          this.requestReconcile();
        }
      });
  }

  /** Resolves when no reconcile is running (tests). */
  async idle(): Promise<void> {
    while (this.#running) await this.#running;
  }

  /** One pass: at most one change to the Secret, then the caBundles. Leader only. */
  async reconcile(): Promise<void> {
    if (!this.#o.isLeader() || !this.secret.hasSynced) return;
    if (this.#webhooks.some((w) => !w.informer.hasSynced)) return;
    const current = this.secret.get(this.#o.secretName, this.#o.namespace);
    if (current && current.type !== 'kubernetes.io/tls') {
      this.#o.events.record(
        current,
        'Warning',
        'WrongSecretType',
        `Secret ${this.#o.namespace}/${this.#o.secretName} has type ${String(current.type)}; self-managed certificates need type kubernetes.io/tls. Delete it to let meshwarden create it.`,
      );
      return;
    }
    const state = parseSecret(current);
    const now = this.#clock();
    const step = planCertificates(state, now, {
      timing: this.#timing,
      hostname: `${this.#o.service}.${this.#o.namespace}.svc`,
      bundlePublished: state.currentCa !== undefined && this.#bundlePublished(state.currentCa),
    });
    // The webhooks get exactly the Secret's ca.crt; certificates written are rendered by X509.
    let bundle = decode(asRecord(current?.data)?.['ca.crt']) ?? '';
    const rotatedAt = state.rotatedAt === undefined ? undefined : new Date(state.rotatedAt);
    const keptLeaf = { cert: state.leafPem ?? '', key: state.leafKey ?? '' };
    switch (step.action) {
      case 'none':
      case 'wait':
        break;
      case 'create-ca': {
        const ca = await generateCa({ service: this.#o.service, days: this.#timing.caDays, now });
        const caCert = new X509Certificate(ca.cert);
        // Old CAs stay until every replica serves the new certificate: those in the Secret and,
        // should the Secret have been lost, those the webhook configurations still trust.
        const seen = new Set([caCert.fingerprint256]);
        const kept = [...state.bundle, ...this.#publishedCas()].filter((c) => {
          if (seen.has(c.fingerprint256) || Date.parse(c.validTo) <= now.getTime()) return false;
          seen.add(c.fingerprint256);
          return true;
        });
        const next = [caCert, ...kept].map((c) => c.toString()).join('');
        // Nothing usable is served from the Secret: no overlap to protect, issue the leaf now.
        const leaf = usableLeaf(state, now.getTime(), this.#hostname())
          ? keptLeaf
          : await this.#issue(ca, now);
        const written = await this.#writeSecret(current, {
          bundle: next,
          ca,
          leaf,
          rotatedAt: now,
        });
        if (!written) return;
        bundle = next;
        this.#o.logger.info({ reason: step.reason, keptCas: kept.length }, 'new CA created');
        this.#o.events.record(written, 'Normal', 'CACreated', `new CA: ${step.reason}`);
        break;
      }
      case 'issue-leaf': {
        const ca = { cert: state.currentCa?.toString() ?? '', key: state.caKey ?? '' };
        const leaf = await this.#issue(ca, now);
        const written = await this.#writeSecret(current, { bundle, ca, leaf, rotatedAt });
        if (!written) return;
        this.#o.logger.info({ reason: step.reason }, 'serving certificate issued');
        this.#o.events.record(written, 'Normal', 'CertificateIssued', step.reason);
        break;
      }
      case 'drop-old-cas': {
        const ca = state.currentCa as X509Certificate;
        if (step.probe) {
          const probe = this.#o.probe ?? this.#defaultProbe();
          const result = await probe(state.leaf?.fingerprint256 ?? '');
          if (!result.ok) {
            this.#o.logger.info(
              { detail: result.detail },
              'old CA kept in the bundle until every replica serves the new certificate',
            );
            break;
          }
        }
        // After a successful probe only the current CA stays; otherwise only expired ones go.
        const next = state.bundle
          .filter(
            (c) =>
              c.fingerprint256 === ca.fingerprint256 ||
              (!step.probe && Date.parse(c.validTo) > now.getTime()),
          )
          .map((c) => c.toString())
          .join('');
        const written = await this.#writeSecret(current, {
          bundle: next,
          ca: { cert: ca.toString(), key: state.caKey ?? '' },
          leaf: keptLeaf,
          rotatedAt,
        });
        if (!written) return;
        bundle = next;
        this.#o.logger.info({ reason: step.reason }, 'old CAs removed from the bundle');
        this.#o.events.record(written, 'Normal', 'CABundlePruned', step.reason);
        break;
      }
    }
    if (bundle !== '') await this.#publishBundle(bundle);
  }

  #hostname(): string {
    return `${this.#o.service}.${this.#o.namespace}.svc`;
  }

  #issue(ca: CertificateAuthority, now: Date) {
    return issueLeaf(ca, {
      service: this.#o.service,
      namespace: this.#o.namespace,
      days: this.#timing.leafDays,
      now,
    });
  }

  #secretChanged(secret: KubeObject): void {
    this.requestReconcile();
    const data = asRecord(secret.data);
    const cert = decode(data?.['tls.crt']);
    const key = decode(data?.['tls.key']);
    if (!this.#sink || cert === undefined || key === undefined) return;
    if (cert + key === this.#lastPushed) return;
    try {
      this.#sink.useKeyPair(cert, key);
      this.#lastPushed = cert + key;
    } catch (error) {
      this.#o.logger.warn(
        { secret: `${this.#o.namespace}/${this.#o.secretName}`, err: describeError(error) },
        'the TLS Secret holds an unusable pair; keeping the current one',
      );
    }
  }

  /** Do both webhook configurations (those that exist) carry `ca` in every entry? */
  /** The CA certificates in the caBundles of the webhook configurations. */
  #publishedCas(): X509Certificate[] {
    return this.#webhooks.flatMap(({ informer, name }) =>
      (asArray(informer.get(name)?.webhooks) ?? []).flatMap((hook) =>
        splitPem(decode(asRecord(asRecord(hook)?.clientConfig)?.caBundle) ?? ''),
      ),
    );
  }

  #bundlePublished(ca: X509Certificate): boolean {
    return this.#webhooks.every(({ informer, name }) => {
      const config = informer.get(name);
      if (!config) return true;
      return (asArray(config.webhooks) ?? []).every((hook) => {
        const pem = decode(asRecord(asRecord(hook)?.clientConfig)?.caBundle);
        return (
          pem !== undefined && splitPem(pem).some((c) => c.fingerprint256 === ca.fingerprint256)
        );
      });
    });
  }

  async #publishBundle(bundle: string): Promise<void> {
    const wanted = Buffer.from(bundle).toString('base64');
    for (const { kind, resource, name, informer } of this.#webhooks) {
      const config = informer.get(name);
      if (!config) continue;
      const ops: unknown[] = [];
      (asArray(config.webhooks) ?? []).forEach((hook, i) => {
        const entry = asRecord(hook);
        if (asRecord(entry?.clientConfig)?.caBundle === wanted) return;
        // The test guards against the list having changed since the cache saw it.
        ops.push({ op: 'test', path: `/webhooks/${i}/name`, value: entry?.name });
        ops.push({ op: 'add', path: `/webhooks/${i}/clientConfig/caBundle`, value: wanted });
      });
      if (ops.length === 0) continue;
      try {
        await this.#o.client.patch(
          `/apis/admissionregistration.k8s.io/v1/${resource}/${encodeURIComponent(name)}`,
          ops,
          PATCH_TYPES.json,
        );
      } catch (error) {
        this.#o.logger.warn({ kind, name, err: describeError(error) }, 'could not patch caBundle');
        continue;
      }
      this.#o.logger.info({ kind, name, entries: ops.length / 2 }, 'caBundle patched');
      this.#o.events.record(
        config,
        'Normal',
        'CABundlePatched',
        `caBundle set on ${ops.length / 2} webhook(s)`,
      );
    }
  }

  async #writeSecret(
    current: KubeObject | undefined,
    content: {
      bundle: string;
      ca: CertificateAuthority;
      leaf: { cert: string; key: string };
      rotatedAt: Date | undefined;
    },
  ): Promise<KubeObject | undefined> {
    const { client, namespace, secretName } = this.#o;
    const data: Record<string, string> = {
      ...(asRecord(current?.data) as Record<string, string> | undefined),
      'tls.crt': encode(content.leaf.cert),
      'tls.key': encode(content.leaf.key),
      'ca.crt': encode(content.bundle),
      'ca.key': encode(content.ca.key),
    };
    const annotations: Record<string, string> = { ...current?.metadata?.annotations };
    if (content.rotatedAt) annotations[CA_ROTATED_AT_ANNOTATION] = content.rotatedAt.toISOString();
    const collection = `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets`;
    try {
      if (!current) {
        return await client.create(collection, {
          apiVersion: 'v1',
          kind: 'Secret',
          type: 'kubernetes.io/tls',
          metadata: {
            name: secretName,
            namespace,
            labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE },
            annotations,
          },
          data,
        });
      }
      return await client.replace(`${collection}/${encodeURIComponent(secretName)}`, {
        ...current,
        metadata: { ...current.metadata, annotations },
        data,
      });
    } catch (error) {
      // Someone wrote the Secret since the cache saw it: the watch brings the new version.
      if (isConflict(error)) {
        this.#again = true;
        return undefined;
      }
      throw error;
    }
  }

  #defaultProbe(): ReplicaProbe {
    return (fingerprint) =>
      probeServiceEndpoints(this.#o.client, this.#o.namespace, this.#o.service, fingerprint);
  }
}

export function parseSecret(secret: KubeObject | undefined): SecretState {
  const data = asRecord(secret?.data);
  const bundle = splitPem(decode(data?.['ca.crt']) ?? '');
  const caKey = decode(data?.['ca.key']);
  const currentCa = caKey === undefined ? undefined : bundle.find((c) => keyMatches(c, caKey));
  const leafPem = decode(data?.['tls.crt']);
  let leaf: X509Certificate | undefined;
  try {
    leaf = leafPem === undefined ? undefined : new X509Certificate(leafPem);
  } catch {
    leaf = undefined;
  }
  const rotated = secret?.metadata?.annotations?.[CA_ROTATED_AT_ANNOTATION];
  const rotatedAt = rotated === undefined ? undefined : Date.parse(rotated);
  return {
    bundle,
    caKey,
    currentCa,
    leaf,
    leafPem,
    leafKey: decode(data?.['tls.key']),
    rotatedAt: rotatedAt === undefined || Number.isNaN(rotatedAt) ? undefined : rotatedAt,
  };
}

/** Each certificate of a PEM bundle; unparsable blocks are skipped. */
export function splitPem(pem: string): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.flatMap((b) => {
    try {
      return [new X509Certificate(b)];
    } catch {
      return [];
    }
  });
}

function usableLeaf(state: SecretState, now: number, hostname: string): boolean {
  const { leaf, leafKey } = state;
  if (!leaf || leafKey === undefined || !keyMatches(leaf, leafKey)) return false;
  if (Date.parse(leaf.validTo) <= now || Date.parse(leaf.validFrom) > now + 3_600_000) return false;
  return leaf.checkHost(hostname) !== undefined;
}

function due(cert: X509Certificate, now: number, renewAt: number): boolean {
  const from = Date.parse(cert.validFrom);
  const to = Date.parse(cert.validTo);
  return now - from >= (to - from) * renewAt;
}

function signedBy(leaf: X509Certificate, ca: X509Certificate): boolean {
  return leaf.checkIssued(ca) && leaf.verify(ca.publicKey);
}

function keyMatches(cert: X509Certificate, keyPem: string): boolean {
  try {
    const spki = (k: ReturnType<typeof createPublicKey>) =>
      k.export({ type: 'spki', format: 'der' });
    return spki(createPublicKey(keyPem)).equals(spki(cert.publicKey));
  } catch {
    return false;
  }
}

function decode(value: unknown): string | undefined {
  const s = asString(value);
  return s === undefined ? undefined : Buffer.from(s, 'base64').toString('utf8');
}

function encode(value: string): string {
  return Buffer.from(value).toString('base64');
}

/**
 * Probes every ready endpoint of the Service (EndpointSlices labelled
 * `kubernetes.io/service-name`) with a TLS handshake and compares the certificate presented.
 */
export async function probeServiceEndpoints(
  client: KubeClient,
  namespace: string,
  service: string,
  fingerprint256: string,
): Promise<{ ok: boolean; detail: string }> {
  const slices = await client.list(
    `/apis/discovery.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/endpointslices`,
    { labelSelector: `kubernetes.io/service-name=${service}` },
  );
  const targets: { host: string; port: number }[] = [];
  for (const slice of slices.items) {
    const ports = (asArray(slice.ports) ?? [])
      .map((p) => asRecord(p)?.port)
      .filter((p): p is number => typeof p === 'number');
    for (const endpoint of asArray(slice.endpoints) ?? []) {
      const e = asRecord(endpoint);
      if (asRecord(e?.conditions)?.ready === false) continue;
      for (const address of asArray(e?.addresses) ?? [])
        if (typeof address === 'string')
          for (const port of ports) targets.push({ host: address, port });
    }
  }
  if (targets.length === 0)
    return { ok: false, detail: `no ready endpoints for Service ${service}` };
  const servername = `${service}.${namespace}.svc`;
  const seen = await Promise.all(
    targets.map((t) => presentedFingerprint(t.host, t.port, servername)),
  );
  const stale = targets.filter((_, i) => seen[i] !== fingerprint256);
  return stale.length === 0
    ? { ok: true, detail: `${targets.length} endpoint(s) serve the new certificate` }
    : {
        ok: false,
        detail: `${stale.map((t) => `${t.host}:${t.port}`).join(', ')} not yet serving the new certificate`,
      };
}

function presentedFingerprint(
  host: string,
  port: number,
  servername: string,
): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = connect(
      { host, port, servername, rejectUnauthorized: false, timeout: 3000 },
      () => {
        const fp = socket.getPeerX509Certificate()?.fingerprint256;
        socket.end();
        resolve(fp);
      },
    );
    socket.on('timeout', () => {
      socket.destroy();
      resolve(undefined);
    });
    socket.on('error', () => resolve(undefined));
  });
}

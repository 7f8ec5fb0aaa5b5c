import { X509Certificate } from 'node:crypto';
import type { Logger } from 'pino';
import { CA_ROTATED_AT_ANNOTATION, MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../../k8s/keys.js';
import type { KubeObject } from '../../k8s/objects.js';
import { generateCa, issueLeaf, type CertificateAuthority } from '../../pki/issue.js';
import { asRecord } from '../../util/objects.js';
import type { EventRecorder } from '../events.js';
import { describeError, Informer, type InformerOptions } from '../informer.js';
import { isConflict, type KubeClient } from '../kube-client.js';
import { CaBundlePublisher } from './ca-bundle.js';
import {
  decode,
  DEFAULT_CERTIFICATE_TIMING,
  encode,
  parseSecret,
  planCertificates,
  usableLeaf,
  type CertificateStep,
  type CertificateTiming,
  type SecretState,
} from './plan.js';
import { probeServiceEndpoints, type ReplicaProbe } from './probe.js';

/** Where the serving pair goes (the HTTPS server's `useKeyPair`). */
export interface KeyPairSink {
  /** Throws when the pair is unusable, outside its validity window or not signed by `caBundle`. */
  useKeyPair(cert: string, key: string, caBundle?: string): boolean;
}

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

/** The Secret as the cache holds it, parsed, and what a step writes back unless it changes it. */
interface Pass {
  readonly current: KubeObject | undefined;
  readonly state: SecretState;
  readonly now: Date;
  /** The Secret's `ca.crt` as stored: the webhooks get exactly this. */
  readonly bundle: string;
  readonly rotatedAt: Date | undefined;
  readonly keptLeaf: { cert: string; key: string };
}

interface SecretContent {
  readonly bundle: string;
  readonly ca: CertificateAuthority;
  readonly leaf: { cert: string; key: string };
  readonly rotatedAt: Date | undefined;
}

/**
 * Self-managed certificates. Every replica watches the TLS Secret and puts its pair in use as
 * soon as it changes. The leader creates and rotates the CA and serving certificate in the
 * Secret (the steps come from `planCertificates`) and keeps `caBundle` of both webhook
 * configurations equal to the Secret's `ca.crt`.
 */
export class CertificateManager {
  readonly #o: CertificateManagerOptions;
  readonly #timing: CertificateTiming;
  readonly #clock: () => Date;
  readonly secret: Informer;
  readonly #caBundle: CaBundlePublisher;
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
    this.secret = new Informer(
      options.client,
      {
        name: `secrets/${options.secretName}`,
        apiVersion: 'v1',
        kind: 'Secret',
        path: `/api/v1/namespaces/${encodeURIComponent(options.namespace)}/secrets`,
        fieldSelector: `metadata.name=${options.secretName}`,
      },
      { ...options.informer, logger: options.logger },
    );
    this.secret
      .on('add', (s) => this.#secretChanged(s))
      .on('update', (s) => this.#secretChanged(s));
    this.secret.on('delete', () => this.requestReconcile());
    this.#caBundle = new CaBundlePublisher({
      client: options.client,
      ...(options.mutatingWebhook === undefined
        ? {}
        : { mutatingWebhook: options.mutatingWebhook }),
      ...(options.validatingWebhook === undefined
        ? {}
        : { validatingWebhook: options.validatingWebhook }),
      logger: options.logger,
      events: options.events,
      informer: options.informer,
    });
    this.#caBundle.onChange(() => this.requestReconcile());
  }

  /** The watches this manager keeps (the Secret first), for diagnostics and tests. */
  get informers(): readonly Informer[] {
    return [this.secret, ...this.#caBundle.informers];
  }

  /** Where the Secret's pair goes; the current pair is pushed at once if known. */
  attach(sink: KeyPairSink): void {
    this.#sink = sink;
    this.#lastPushed = '';
    const current = this.secret.get(this.#o.secretName, this.#o.namespace);
    if (current) this.#secretChanged(current);
  }

  start(): void {
    for (const informer of this.informers) informer.start();
    void Promise.all(this.informers.map((i) => i.synced())).then(() => this.requestReconcile());
    this.#timer = setInterval(() => this.requestReconcile(), this.#timing.checkIntervalMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    await this.#running;
    await Promise.all(this.informers.map((i) => i.stop()));
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
    if (!this.#o.isLeader() || !this.secret.hasSynced || !this.#caBundle.hasSynced) return;
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
    const pass: Pass = {
      current,
      state,
      now: this.#clock(),
      // Certificates written are rendered by X509; the stored bundle is passed on as it is.
      bundle: decode(asRecord(current?.data)?.['ca.crt']) ?? '',
      rotatedAt: state.rotatedAt === undefined ? undefined : new Date(state.rotatedAt),
      keptLeaf: { cert: state.leafPem ?? '', key: state.leafKey ?? '' },
    };
    const step = planCertificates(state, pass.now, {
      timing: this.#timing,
      hostname: this.#hostname(),
      bundlePublished: state.currentCa !== undefined && this.#caBundle.carries(state.currentCa),
    });
    const bundle = await this.#take(step, pass);
    if (bundle !== undefined && bundle !== '') await this.#caBundle.publish(bundle);
  }

  /** Carries out one step; the bundle the webhooks should carry, undefined if nothing was written. */
  #take(step: CertificateStep, pass: Pass): Promise<string | undefined> {
    switch (step.action) {
      case 'none':
      case 'wait':
        return Promise.resolve(pass.bundle);
      case 'create-ca':
        return this.#createCa(step.reason, pass);
      case 'issue-leaf':
        return this.#issueLeaf(step.reason, pass);
      case 'drop-old-cas':
        return this.#dropOldCas(step.probe, step.reason, pass);
    }
  }

  async #createCa(reason: string, pass: Pass): Promise<string | undefined> {
    const { state, now } = pass;
    const ca = await generateCa({ service: this.#o.service, days: this.#timing.caDays, now });
    const caCert = new X509Certificate(ca.cert);
    // Old CAs stay until every replica serves the new certificate: those in the Secret and,
    // should the Secret have been lost, those the webhook configurations still trust.
    const seen = new Set([caCert.fingerprint256]);
    const kept = [...state.bundle, ...this.#caBundle.publishedCas()].filter((c) => {
      if (seen.has(c.fingerprint256) || Date.parse(c.validTo) <= now.getTime()) return false;
      seen.add(c.fingerprint256);
      return true;
    });
    const bundle = [caCert, ...kept].map((c) => c.toString()).join('');
    // Nothing usable is served from the Secret: no overlap to protect, issue the leaf now.
    const leaf = usableLeaf(state, now.getTime(), this.#hostname())
      ? pass.keptLeaf
      : await this.#issue(ca, now);
    const written = await this.#writeSecret(pass.current, { bundle, ca, leaf, rotatedAt: now });
    if (!written) return undefined;
    this.#o.logger.info({ reason, keptCas: kept.length }, 'new CA created');
    this.#o.events.record(written, 'Normal', 'CACreated', `new CA: ${reason}`);
    return bundle;
  }

  async #issueLeaf(reason: string, pass: Pass): Promise<string | undefined> {
    const { state, bundle, rotatedAt } = pass;
    const ca = { cert: state.currentCa?.toString() ?? '', key: state.caKey ?? '' };
    const leaf = await this.#issue(ca, pass.now);
    const written = await this.#writeSecret(pass.current, { bundle, ca, leaf, rotatedAt });
    if (!written) return undefined;
    this.#o.logger.info({ reason }, 'serving certificate issued');
    this.#o.events.record(written, 'Normal', 'CertificateIssued', reason);
    return bundle;
  }

  async #dropOldCas(probe: boolean, reason: string, pass: Pass): Promise<string | undefined> {
    const { state, now } = pass;
    const ca = state.currentCa as X509Certificate;
    if (probe) {
      const result = await (this.#o.probe ?? this.#defaultProbe())(
        state.leaf?.fingerprint256 ?? '',
      );
      if (!result.ok) {
        this.#o.logger.info(
          { detail: result.detail },
          'old CA kept in the bundle until every replica serves the new certificate',
        );
        return pass.bundle;
      }
    }
    // After a successful probe only the current CA stays; otherwise only expired ones go.
    const bundle = state.bundle
      .filter(
        (c) =>
          c.fingerprint256 === ca.fingerprint256 ||
          (!probe && Date.parse(c.validTo) > now.getTime()),
      )
      .map((c) => c.toString())
      .join('');
    const written = await this.#writeSecret(pass.current, {
      bundle,
      ca: { cert: ca.toString(), key: state.caKey ?? '' },
      leaf: pass.keptLeaf,
      rotatedAt: pass.rotatedAt,
    });
    if (!written) return undefined;
    this.#o.logger.info({ reason }, 'old CAs removed from the bundle');
    this.#o.events.record(written, 'Normal', 'CABundlePruned', reason);
    return bundle;
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
    // The pair must chain to the bundle the API server is given (the Secret's ca.crt).
    const bundle = decode(data?.['ca.crt']);
    try {
      this.#sink.useKeyPair(cert, key, bundle);
      this.#lastPushed = cert + key;
    } catch (error) {
      this.#o.logger.warn(
        { secret: `${this.#o.namespace}/${this.#o.secretName}`, err: describeError(error) },
        'the TLS Secret holds an unusable pair; keeping the current one',
      );
      this.#o.events.record(
        secret,
        'Warning',
        'CertificateRefused',
        `the serving pair in this Secret was refused (${(error as Error).message}); the pair in use stays`,
      );
    }
  }

  async #writeSecret(
    current: KubeObject | undefined,
    content: SecretContent,
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

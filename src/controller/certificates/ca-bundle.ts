import type { X509Certificate } from 'node:crypto';
import type { Logger } from 'pino';
import { asArray, asRecord } from '../../util/objects.js';
import type { EventRecorder } from '../events.js';
import { describeError, Informer, type InformerOptions } from '../informer.js';
import { PATCH_TYPES, type KubeClient } from '../kube-client.js';
import { decode, splitPem } from './plan.js';

export interface CaBundleOptions {
  readonly client: KubeClient;
  /** Webhook configurations whose every entry gets the CA bundle (unset: not managed). */
  readonly mutatingWebhook?: string;
  readonly validatingWebhook?: string;
  readonly logger: Logger;
  readonly events: EventRecorder;
  readonly informer: Omit<InformerOptions, 'logger'>;
}

interface WatchedWebhook {
  readonly kind: string;
  readonly resource: string;
  readonly name: string;
  readonly informer: Informer;
}

/**
 * The caBundle of the webhook configurations: watched, so that a reset (helm upgrade, a GitOps
 * sync) is seen at once, and patched to the Secret's `ca.crt` entry by entry.
 */
export class CaBundlePublisher {
  readonly #o: CaBundleOptions;
  readonly #webhooks: WatchedWebhook[] = [];

  constructor(options: CaBundleOptions) {
    this.#o = options;
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
        { ...options.informer, logger: options.logger },
      );
      this.#webhooks.push({ kind, resource, name, informer });
    }
  }

  get informers(): readonly Informer[] {
    return this.#webhooks.map((w) => w.informer);
  }

  get hasSynced(): boolean {
    return this.#webhooks.every((w) => w.informer.hasSynced);
  }

  /** Calls `listener` on every change of a webhook configuration. */
  onChange(listener: () => void): void {
    for (const w of this.#webhooks) w.informer.on('change', listener);
  }

  /** The CA certificates in the caBundles of the webhook configurations. */
  publishedCas(): X509Certificate[] {
    return this.#webhooks.flatMap(({ informer, name }) =>
      (asArray(informer.get(name)?.webhooks) ?? []).flatMap((hook) =>
        splitPem(decode(asRecord(asRecord(hook)?.clientConfig)?.caBundle) ?? ''),
      ),
    );
  }

  /** Do both webhook configurations (those that exist) carry `ca` in every entry? */
  carries(ca: X509Certificate): boolean {
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

  /** Sets `bundle` on every entry that lacks it; a failed patch is logged and retried later. */
  async publish(bundle: string): Promise<void> {
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
}

import { resolve } from 'node:path';
import { generateCertificates } from '../pki/issue.js';
import { writeCertificates } from '../pki/files.js';
import { UsageError } from './errors.js';

export async function runCerts(options: {
  out: string;
  service: string;
  namespace: string;
  days: string;
}): Promise<void> {
  const days = Number(options.days);
  if (!Number.isInteger(days) || days < 1)
    throw new UsageError(`--days must be a whole number of days; got ${options.days}`);
  const bundle = await generateCertificates({
    service: options.service,
    namespace: options.namespace,
    days,
  });
  const paths = await writeCertificates(options.out, bundle);
  process.stdout.write(
    `wrote ${resolve(paths.cert)}, ${resolve(paths.key)} and CA ${resolve(paths.ca)} for ${options.service}.${options.namespace}.svc (valid ${days} days)\n` +
      `caBundle: ${Buffer.from(bundle.caCert).toString('base64')}\n`,
  );
}

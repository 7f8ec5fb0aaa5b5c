import { readFile } from 'node:fs/promises';
import { formatPolicyErrors, parsePolicyOrConfigMap } from '../policy/load.js';
import { EXIT, UsageError } from './errors.js';

export async function runPolicyCheck(options: { filename: string }): Promise<void> {
  let text: string;
  try {
    text = await readFile(options.filename, 'utf8');
  } catch (error) {
    throw new UsageError(
      `cannot read ${options.filename}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
    );
  }
  const result = parsePolicyOrConfigMap(text);
  if (result.ok) {
    process.stdout.write(`${options.filename}: valid MeshPolicy\n`);
    process.exitCode = EXIT.ok;
    return;
  }
  process.stdout.write(`${formatPolicyErrors(result.errors, options.filename)}\n`);
  process.exitCode = EXIT.denied;
}

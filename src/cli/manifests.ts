import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { LineCounter, parseAllDocuments } from 'yaml';
import type { KubeObject } from '../k8s/objects.js';
import { isRecord } from '../util/objects.js';

/** One object read from a manifest, with where it came from. */
export interface SourcedObject {
  readonly object: KubeObject;
  readonly file: string;
  /** 1-based line where the document (or List item) starts. */
  readonly line: number;
}

/** Input that could not be read or parsed, located for the user. */
export interface InputError {
  readonly file: string;
  readonly line?: number;
  readonly message: string;
}

export interface ReadResult {
  readonly objects: SourcedObject[];
  readonly errors: InputError[];
}

const MANIFEST_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

export function formatInputError(e: InputError): string {
  return `${e.file}${e.line === undefined ? '' : `:${e.line}`}: ${e.message}`;
}

/**
 * Reads files, folders (recursively: *.yaml, *.yml, *.json) and `-` (stdin). Multi-document YAML
 * and `kind: List` (or any `*List` with items) are expanded. One bad file never stops the others.
 */
export async function readManifests(
  paths: readonly string[],
  stdin: () => Promise<string> = readStdin,
): Promise<ReadResult> {
  const objects: SourcedObject[] = [];
  const errors: InputError[] = [];
  for (const path of paths) {
    if (path === '-') {
      parseManifestText(await stdin(), '<stdin>', objects, errors);
      continue;
    }
    let files: string[];
    try {
      files = await expand(path);
    } catch (error) {
      errors.push({
        file: path,
        message: `cannot read: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
      });
      continue;
    }
    for (const file of files) {
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (error) {
        errors.push({
          file,
          message: `cannot read: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
        });
        continue;
      }
      parseManifestText(text, file, objects, errors);
    }
  }
  return { objects, errors };
}

async function expand(path: string): Promise<string[]> {
  const info = await stat(path);
  if (!info.isDirectory()) return [path];
  const out: string[] = [];
  const entries = await readdir(path, { withFileTypes: true });
  entries.sort((a, b) => a.name.localeCompare(b.name));
  for (const entry of entries) {
    const full = join(path, entry.name);
    if (entry.isDirectory()) out.push(...(await expand(full)));
    else if (MANIFEST_EXTENSIONS.has(extname(entry.name).toLowerCase())) out.push(full);
  }
  return out;
}

/** Parses one file's text into objects, appending to `objects` and `errors`. */
export function parseManifestText(
  text: string,
  file: string,
  objects: SourcedObject[],
  errors: InputError[],
): void {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, prettyErrors: false });
  if (!Array.isArray(docs)) {
    // An empty stream parses to a bare EmptyStream.
    return;
  }
  for (const doc of docs) {
    const firstError = doc.errors[0];
    if (firstError) {
      errors.push({
        file,
        line: lineCounter.linePos(firstError.pos[0]).line,
        message: `not valid YAML: ${firstError.message.split('\n')[0] ?? firstError.code}`,
      });
      continue;
    }
    const line = lineCounter.linePos(doc.contents?.range?.[0] ?? doc.range[0]).line;
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (error) {
      errors.push({ file, line, message: `cannot read document: ${(error as Error).message}` });
      continue;
    }
    if (value === null || value === undefined) continue;
    if (!isRecord(value)) {
      errors.push({
        file,
        line,
        message: 'document is not a mapping (expected a Kubernetes object)',
      });
      continue;
    }
    collect(value, file, line, objects, errors);
  }
}

function collect(
  value: Record<string, unknown>,
  file: string,
  line: number,
  objects: SourcedObject[],
  errors: InputError[],
): void {
  const kind = value.kind;
  if (typeof kind === 'string' && kind.endsWith('List') && Array.isArray(value.items)) {
    value.items.forEach((item, i) => {
      if (isRecord(item)) collect(item, file, line, objects, errors);
      else errors.push({ file, line, message: `items[${i}] is not an object` });
    });
    return;
  }
  objects.push({ object: value, file, line });
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { LineCounter, parseAllDocuments, type Document } from 'yaml';
import type { KubeObject } from '../k8s/objects.js';
import { isRecord } from '../util/objects.js';
import { helmTemplateHint, looksLikeHelmTemplate, notAManifest } from './document-kinds.js';
import { fieldLine } from './field-line.js';

/** One object read from a manifest, with where it came from. */
export interface SourcedObject {
  readonly object: KubeObject;
  readonly file: string;
  /** 1-based line where the document (or List item) starts. */
  readonly line: number;
  /** What the YAML parser warned about in this document (an unresolved tag), with its line. */
  readonly yamlWarnings?: readonly string[];
  /** The line of a field (`spec.template.metadata.labels`), where the document holds it. */
  readonly lineOf?: (field: string) => number | undefined;
}

/** Input that could not be read or parsed, located for the user. */
export interface InputError {
  readonly file: string;
  readonly line?: number;
  readonly message: string;
}

/** A document that is no Kubernetes object (a prometheus.yml, a CloudFormation template): skipped. */
export interface SkippedDocument {
  readonly file: string;
  readonly line: number;
  readonly reason: string;
}

export interface ReadResult {
  readonly objects: SourcedObject[];
  readonly errors: InputError[];
  /** Documents that are not Kubernetes objects; with `strict` they are errors instead. */
  readonly skipped: SkippedDocument[];
}

export interface ReadOptions {
  /** Documents without apiVersion and kind are errors, not skipped. */
  readonly strict?: boolean;
  readonly stdin?: () => Promise<string>;
}

/** Where `parseManifestText` puts documents that are not Kubernetes objects. */
export interface SkipSink {
  readonly skipped: SkippedDocument[];
  readonly strict: boolean;
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
  options: ReadOptions = {},
): Promise<ReadResult> {
  const objects: SourcedObject[] = [];
  const errors: InputError[] = [];
  const sink: SkipSink = { skipped: [], strict: options.strict === true };
  for (const path of paths) {
    if (path === '-') {
      parseManifestText(await (options.stdin ?? readStdin)(), '<stdin>', objects, errors, sink);
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
      parseManifestText(text, file, objects, errors, sink);
    }
  }
  return { objects, errors, skipped: sink.skipped };
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

/**
 * Parses one file's text into objects, appending to `objects` and `errors`. With a `sink`,
 * documents that are no Kubernetes object at all go there (or, `strict`, to `errors`); without
 * one, a mapping without apiVersion and kind is passed on as an object for the caller to judge.
 */
export function parseManifestText(
  text: string,
  file: string,
  objects: SourcedObject[],
  errors: InputError[],
  sink?: SkipSink,
): void {
  const lineCounter = new LineCounter();
  // logLevel error: the parser's warnings are reported with the file and line below, not by Node.
  const docs = parseAllDocuments(text, { lineCounter, prettyErrors: false, logLevel: 'error' });
  if (!Array.isArray(docs)) {
    // An empty stream parses to a bare EmptyStream.
    return;
  }
  const helm = looksLikeHelmTemplate(text);
  const lineAt = (offset: number) => lineCounter.linePos(offset).line;
  for (const doc of docs) {
    const firstError = doc.errors[0];
    if (firstError) {
      const detail = `not valid YAML: ${firstError.message.split('\n')[0] ?? firstError.code}`;
      errors.push({
        file,
        line: lineAt(firstError.pos[0]),
        message: helm ? `${helmTemplateHint} (${detail})` : detail,
      });
      continue;
    }
    const line = lineAt(doc.contents?.range?.[0] ?? doc.range[0]);
    const yamlWarnings = doc.warnings.map(
      (w) => `${file}:${lineAt(w.pos[0])}: YAML: ${w.message.split('\n')[0] ?? w.code}`,
    );
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (error) {
      errors.push({ file, line, message: `cannot read document: ${(error as Error).message}` });
      continue;
    }
    if (value === null || value === undefined) continue;
    const located = { file, line, yamlWarnings, lineOf: lineFinder(doc, lineCounter) };
    if (sink === undefined) {
      if (!isRecord(value))
        errors.push({
          file,
          line,
          message: 'document is not a mapping (expected a Kubernetes object)',
        });
      else collect(value, located, objects, errors);
      continue;
    }
    const verdict = notAManifest(value, file, helm);
    if (verdict === undefined) {
      collect(value as Record<string, unknown>, located, objects, errors);
    } else if (verdict.error || sink.strict) {
      errors.push({ file, line, message: verdict.error ?? verdict.strict });
    } else {
      const warned = yamlWarnings.length > 0 ? ` (${yamlWarnings.join('; ')})` : '';
      sink.skipped.push({ file, line, reason: `${verdict.skip}${warned}` });
    }
  }
}

function lineFinder(
  doc: Document,
  lineCounter: LineCounter,
): (field: string) => number | undefined {
  return (field) => {
    const offset = fieldLine(doc.contents, field);
    return offset === undefined ? undefined : lineCounter.linePos(offset).line;
  };
}

type Located = Omit<SourcedObject, 'object'>;

function collect(
  value: Record<string, unknown>,
  located: Located,
  objects: SourcedObject[],
  errors: InputError[],
): void {
  const kind = value.kind;
  if (typeof kind === 'string' && kind.endsWith('List') && Array.isArray(value.items)) {
    const { file, line, lineOf } = located;
    value.items.forEach((item, i) => {
      const inItem = (field: string) => lineOf?.(`items[${i}].${field}`);
      if (isRecord(item))
        collect(
          item,
          { ...located, line: lineOf?.(`items[${i}]`) ?? line, lineOf: inItem },
          objects,
          errors,
        );
      else errors.push({ file, line, message: `items[${i}] is not an object` });
    });
    return;
  }
  objects.push({ object: value, ...located });
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

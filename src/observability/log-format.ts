/**
 * Log lines for people: pino writes JSON (for log collectors); on a terminal each line is
 * rewritten as `time LEVEL message key=value ...`, so `npm start` reads without pino-pretty.
 */
export type LogFormat = 'json' | 'pretty';

export const LOG_FORMATS: readonly LogFormat[] = ['json', 'pretty'];

/** `LOG_FORMAT=json|pretty` decides; otherwise pretty on a terminal, JSON into a pipe or file. */
export function chooseLogFormat(env: NodeJS.ProcessEnv, isTTY: boolean): LogFormat {
  const asked = env.LOG_FORMAT?.trim().toLowerCase();
  if (asked === 'json' || asked === 'pretty') return asked;
  return isTTY ? 'pretty' : 'json';
}

const LEVELS: Record<number, { name: string; colour: string }> = {
  10: { name: 'TRACE', colour: '90' },
  20: { name: 'DEBUG', colour: '36' },
  30: { name: 'INFO ', colour: '32' },
  40: { name: 'WARN ', colour: '33' },
  50: { name: 'ERROR', colour: '31' },
  60: { name: 'FATAL', colour: '35' },
};

/** Fields every line carries that say nothing to a reader of one process's output. */
const OMITTED = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'app']);

/** One pino JSON line as a readable line; anything that is not JSON is passed on unchanged. */
export function prettyLine(line: string, colour = false): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line.endsWith('\n') ? line : `${line}\n`;
  }
  const paint = (code: string, s: string) => (colour ? `\u001b[${code}m${s}\u001b[0m` : s);
  const level = LEVELS[typeof entry.level === 'number' ? entry.level : 30] ?? LEVELS[30]!;
  const time =
    typeof entry.time === 'number' ? new Date(entry.time).toISOString().slice(11, 23) : '';
  const fields: string[] = [];
  let stack: string | undefined;
  for (const [key, value] of Object.entries(entry)) {
    if (OMITTED.has(key) || value === undefined) continue;
    if (key === 'err' && value !== null && typeof value === 'object') {
      const err = value as { message?: unknown; stack?: unknown };
      fields.push(
        `err=${quote(typeof err.message === 'string' ? err.message : JSON.stringify(value))}`,
      );
      if (typeof err.stack === 'string' && (entry.level as number) >= 50) stack = err.stack;
      continue;
    }
    fields.push(`${key}=${typeof value === 'string' ? quote(value) : JSON.stringify(value)}`);
  }
  const msg = typeof entry.msg === 'string' ? entry.msg : '';
  const rest = fields.length === 0 ? '' : `  ${paint('90', fields.join(' '))}`;
  const tail = stack === undefined ? '' : `\n${stack.replace(/^/gm, '    ')}`;
  return `${paint('90', time)} ${paint(level.colour, level.name)} ${msg}${rest}${tail}\n`;
}

function quote(s: string): string {
  return /^[^\s"=]*$/.test(s) && s !== '' ? s : JSON.stringify(s);
}

/** A pino destination that writes each line pretty, synchronously (a terminal is no hot path). */
export function prettyDestination(
  write: (text: string) => void,
  colour: boolean,
): { write(line: string): void } {
  return {
    write(chunk: string) {
      for (const line of chunk.split('\n')) if (line !== '') write(prettyLine(line, colour));
    },
  };
}

import { describe, expect, it } from 'vitest';
import {
  chooseLogFormat,
  prettyDestination,
  prettyLine,
} from '../../src/observability/log-format.js';

describe('chooseLogFormat', () => {
  it('is pretty on a terminal and JSON into a pipe, LOG_FORMAT deciding when set', () => {
    expect(chooseLogFormat({}, true)).toBe('pretty');
    expect(chooseLogFormat({}, false)).toBe('json');
    expect(chooseLogFormat({ LOG_FORMAT: 'json' }, true)).toBe('json');
    expect(chooseLogFormat({ LOG_FORMAT: 'Pretty' }, false)).toBe('pretty');
    expect(chooseLogFormat({ LOG_FORMAT: 'xml' }, false)).toBe('json');
  });
});

describe('prettyLine', () => {
  const time = Date.UTC(2026, 0, 2, 3, 4, 5, 678);

  it('writes time, level, message and the fields, leaving out what every line carries', () => {
    const line = JSON.stringify({
      level: 30,
      time,
      pid: 1,
      hostname: 'h',
      app: 'meshwarden',
      msg: 'meshwarden ready at https://localhost:8443',
      url: 'https://localhost:8443',
      policy: 'built-in defaults',
      startupMs: 12,
    });
    expect(prettyLine(line)).toBe(
      '03:04:05.678 INFO  meshwarden ready at https://localhost:8443  url=https://localhost:8443 policy="built-in defaults" startupMs=12\n',
    );
  });

  it('shows an error with its message, and its stack at level error', () => {
    const err = { type: 'Error', message: 'boom', stack: 'Error: boom\n    at x' };
    expect(prettyLine(JSON.stringify({ level: 40, time, msg: 'm', err }))).toBe(
      '03:04:05.678 WARN  m  err=boom\n',
    );
    expect(prettyLine(JSON.stringify({ level: 50, time, msg: 'm', err }))).toBe(
      '03:04:05.678 ERROR m  err=boom\n    Error: boom\n        at x\n',
    );
  });

  it('colours only when asked, and passes text that is not JSON through', () => {
    expect(prettyLine(JSON.stringify({ level: 30, time, msg: 'm' }), true)).toContain(
      '\u001b[32mINFO \u001b[0m',
    );
    expect(prettyLine('not json')).toBe('not json\n');
  });

  it('as a pino destination, writes each line of a chunk', () => {
    const out: string[] = [];
    const dest = prettyDestination((t) => out.push(t), false);
    dest.write(
      `${JSON.stringify({ level: 30, time, msg: 'a' })}\n${JSON.stringify({ level: 30, time, msg: 'b' })}\n`,
    );
    expect(out).toEqual(['03:04:05.678 INFO  a\n', '03:04:05.678 INFO  b\n']);
  });
});

import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import {
  afterAnswers,
  answerInTurn,
  FLUSH_AFTER_MS,
  judgeInTurn,
  LARGE_REVIEW_BYTES,
} from '../../src/server/turn-batch.js';
import { deployment, makeReview } from '../helpers/reviews.js';
import { defaultWebhookApp } from '../helpers/app.js';

// The reviews of one turn of the event loop are judged back to back, then answered together
// (src/server/turn-batch.ts); nothing waits for a slow review it would not have waited for.

/** A response that records when it is ended, in one shared log. */
function recorder(log: string[], name: string): ServerResponse {
  return { end: () => log.push(`end ${name}`) } as unknown as ServerResponse;
}

function review(log: string[], name: string, spinMs = 0) {
  return () => {
    log.push(`judge ${name}`);
    const until = performance.now() + spinMs;
    while (performance.now() < until);
    answerInTurn(recorder(log, name), '{}');
    afterAnswers(() => log.push(`after ${name}`));
  };
}

describe('a turn of reviews', () => {
  it('judges every review of the turn before writing their answers, in order', async () => {
    const log: string[] = [];
    for (const name of ['a', 'b', 'c']) judgeInTurn(review(log, name), 100);
    expect(log).toEqual([]);
    await nextTurn();
    expect(log).toEqual([
      'judge a',
      'judge b',
      'judge c',
      'end a',
      'end b',
      'end c',
      'after a',
      'after b',
      'after c',
    ]);
  });

  it('answers a lone review within one turn', async () => {
    const log: string[] = [];
    judgeInTurn(review(log, 'a'), 100);
    await nextTurn();
    expect(log).toEqual(['judge a', 'end a', 'after a']);
  });

  it('writes the answers made so far before it judges a large review', async () => {
    const log: string[] = [];
    judgeInTurn(review(log, 'small'), 100);
    judgeInTurn(review(log, 'large'), LARGE_REVIEW_BYTES);
    await nextTurn();
    expect(log).toEqual([
      'judge small',
      'end small',
      'after small',
      'judge large',
      'end large',
      'after large',
    ]);
  });

  it('writes the answers made so far once the batch has run past its bound', async () => {
    const log: string[] = [];
    judgeInTurn(review(log, 'slow', FLUSH_AFTER_MS + 2), 100);
    judgeInTurn(review(log, 'next'), 100);
    await nextTurn();
    expect(log).toEqual([
      'judge slow',
      'end slow',
      'after slow',
      'judge next',
      'end next',
      'after next',
    ]);
  });

  it('answers in a later turn what a review answers late', async () => {
    const log: string[] = [];
    judgeInTurn(() => {
      log.push('judge late');
      void Promise.resolve().then(() => answerInTurn(recorder(log, 'late'), '{}'));
    }, 100);
    await nextTurn();
    expect(log).toEqual(['judge late']);
    await nextTurn();
    expect(log).toEqual(['judge late', 'end late']);
  });
});

/** A request that arrives whole: its body in one chunk, then its end. */
class ArrivedRequest extends EventEmitter {
  readonly method = 'POST';
  readonly url = '/validate';
  readonly complete = true;
  readonly headers: Record<string, string>;
  constructor(length: number) {
    super();
    this.headers = { 'content-type': 'application/json', 'content-length': String(length) };
  }
}

describe('a review in flight', () => {
  it('counts until its answer is written, so a drain waits for it', async () => {
    const { app, lifecycle } = defaultWebhookApp();
    const body = Buffer.from(
      JSON.stringify(makeReview({ object: deployment('web', { app: 'web', version: 'v1' }) })),
    );
    let ended: string | undefined;
    const res = {
      headersSent: false,
      setHeader: () => res,
      writeHead: () => res,
      end: (text: string) => {
        ended = text;
        expect(lifecycle.inFlight).toBe(1);
      },
    };
    const req = new ArrivedRequest(body.length);
    app(req as unknown as IncomingMessage, res as unknown as ServerResponse);
    req.emit('data', body);
    req.emit('end');
    const idle = lifecycle.idle();
    expect(lifecycle.inFlight).toBe(1);
    await idle;
    expect(lifecycle.inFlight).toBe(0);
    expect(JSON.parse(ended ?? '{}')).toMatchObject({ response: { allowed: true } });
  });
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ErrorCode,
  TimeoutError,
  ValidationError,
  fromErrorInfo,
  toDynlabError,
  DynlabError,
} from './errors';
import { createLogger } from './logger';

test('a ValidationError survives the wire form with every issue and its path', () => {
  const err = new ValidationError([
    { path: 'sweep.axes[2].values', message: 'expected a non-empty list, got []' },
    { path: 'base.steps', message: 'must be at least 1' },
  ]);
  const back = fromErrorInfo(err.toInfo());
  assert.ok(back instanceof ValidationError);
  assert.equal(back.code, ErrorCode.Validation);
  assert.deepEqual(back.issues, err.issues);
  assert.match(back.message, /sweep\.axes\[2\]\.values: expected a non-empty list, got \[\]/);
});

test('codes are kept, unknown codes become INTERNAL, retryable survives', () => {
  const t = fromErrorInfo(new TimeoutError('slow').toInfo());
  assert.ok(t instanceof TimeoutError);
  assert.equal(t.retryable, true);
  assert.equal(fromErrorInfo({ code: 'WHAT', message: 'x' }).code, ErrorCode.Internal);
  const u = fromErrorInfo({ code: 'UNAVAILABLE', message: 'down', retryable: true });
  assert.equal(u.code, ErrorCode.Unavailable);
  assert.equal(u.retryable, true);
  assert.equal(toDynlabError(new RangeError('r')).code, ErrorCode.Internal);
  assert.ok(toDynlabError(new DynlabError(ErrorCode.Shape, 's')) instanceof DynlabError);
});

test('the logger writes one JSON object per line with bound fields and respects the level', () => {
  const lines: string[] = [];
  const log = createLogger({ level: 'info', write: (l) => lines.push(l) }).child({
    service: 'trainer',
  });
  log.debug('hidden');
  log.info('started', { port: 9464 });
  assert.equal(lines.length, 1);
  const rec = JSON.parse(lines[0] ?? '{}') as Record<string, unknown>;
  assert.equal(rec.msg, 'started');
  assert.equal(rec.service, 'trainer');
  assert.equal(rec.port, 9464);
  assert.equal(rec.level, 'info');
});

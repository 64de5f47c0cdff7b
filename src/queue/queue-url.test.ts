import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeQueue, parseQueueUrl } from './queue-url.js';

describe('parseQueueUrl', () => {
  it('reads in-process, host, port, db and the password from the URL or PMG_REDIS_URL', () => {
    assert.deepEqual(parseQueueUrl(undefined, {}), { kind: 'in-process' });
    assert.deepEqual(parseQueueUrl('redis://127.0.0.1:6390/2', {}), { kind: 'redis', host: '127.0.0.1', port: 6390, db: 2 });
    assert.deepEqual(parseQueueUrl('redis://cache', {}), { kind: 'redis', host: 'cache', port: 6379, db: 0 });
    assert.deepEqual(parseQueueUrl('redis://:p%40ss@h:7000', {}), { kind: 'redis', host: 'h', port: 7000, db: 0, password: 'p@ss' });
    assert.deepEqual(parseQueueUrl('redis://h:7000/1', { PMG_REDIS_URL: 'redis://:secret@other:1' }), {
      kind: 'redis',
      host: 'h',
      port: 7000,
      db: 1,
      password: 'secret',
    });
    assert.deepEqual(parseQueueUrl('env', { PMG_REDIS_URL: 'redis://u:pw@h:1/3' }), {
      kind: 'redis',
      host: 'h',
      port: 1,
      db: 3,
      username: 'u',
      password: 'pw',
    });
    assert.equal(describeQueue(parseQueueUrl('redis://:pw@h:1/3', {})), 'redis://h:1/3');
  });

  it('refuses bad URLs with one line naming the flag, never showing the password', () => {
    const cases: [string, RegExp][] = [
      ['http://h:1', /^--queue: scheme 'http:' is not supported; use redis:\/\/host:port\[\/db\] or in-process$/],
      ['redis://h:1/x', /^--queue: database 'x' is not a number 0-15/],
      ['redis://h:1/16', /^--queue: database 16 is not a number 0-15/],
      ['redis://:pw@h:99999', /^--queue: 'redis:\/\/\*\*\*@h:99999' is not a URL/],
      ['nonsense', /^--queue: 'nonsense' is not a URL/],
      ['redis://h:1?x=1', /has a query or fragment/],
    ];
    for (const [text, message] of cases) {
      assert.throws(
        () => parseQueueUrl(text, {}),
        (error: Error & { code?: string }) => message.test(error.message) && error.code === 'invalid-argument' && !error.message.includes('\n'),
        text,
      );
    }
    assert.throws(() => parseQueueUrl('env', {}), { message: '--queue env: PMG_REDIS_URL is not set; set it to redis://host:port[/db] or give the URL' });
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ReplyGatherer, type Reply, type RepliesWanted } from './replies.js';

function request(wanted: RepliesWanted) {
  const gatherer = new ReplyGatherer();
  let result: Reply[] | undefined;
  let error: unknown;
  gatherer.open(1, wanted, (replies) => (result = replies), (e) => (error = e));
  const reply = (sender: string) => gatherer.reply(1, { sender, data: sender, bytes: new Uint8Array() });
  return { gatherer, reply, result: () => result, error: () => error };
}

describe('reply gathering', () => {
  it('an until predicate resolves early, seeing the replies one at a time; a throw rejects', () => {
    const gatherer = new ReplyGatherer();
    const seen: number[] = [];
    let result: Reply[] | undefined;
    const until = (replies: readonly Reply[]) => (seen.push(replies.length), replies.some((reply) => reply.data === 'b'));
    gatherer.open(1, 'all', (replies) => (result = replies), () => undefined, until);
    gatherer.reply(1, { sender: 'a', data: 'a', bytes: new Uint8Array() }); // early: judged at delivery
    gatherer.delivered(1, ['a', 'b', 'c']);
    assert.equal(result, undefined);
    gatherer.reply(1, { sender: 'b', data: 'b', bytes: new Uint8Array() });
    assert.deepEqual(result!.map((reply) => reply.sender), ['a', 'b']);
    assert.deepEqual(seen, [1, 2]);
    let error: unknown;
    gatherer.open(2, 'all', () => undefined, (e) => (error = e), () => {
      throw new Error('bad filter');
    });
    gatherer.delivered(2, ['a', 'b']);
    gatherer.reply(2, { sender: 'a', data: 1, bytes: new Uint8Array() });
    assert.equal((error as Error).message, 'bad filter');
    assert.equal(gatherer.size, 0);
  });

  it("'all' waits for every member of the delivery view", () => {
    const r = request('all');
    r.gatherer.delivered(1, ['a', 'b', 'c']);
    r.reply('a');
    r.reply('b');
    assert.equal(r.result(), undefined);
    r.reply('c');
    assert.deepEqual(r.result()!.map((reply) => reply.sender), ['a', 'b', 'c']);
    assert.equal(r.gatherer.size, 0);
  });

  it('keeps replies that arrive before the requester delivers its own request', () => {
    const r = request('all');
    r.reply('b');
    r.reply('x'); // not in the view: ignored
    r.gatherer.delivered(1, ['a', 'b']);
    r.reply('a');
    assert.deepEqual(r.result()!.map((reply) => reply.sender), ['b', 'a']);
  });

  it("a member that fails is dropped at the view change, so 'all' completes", () => {
    const r = request('all');
    r.gatherer.delivered(1, ['a', 'b', 'c']);
    r.reply('a');
    r.reply('b');
    r.gatherer.view(['a', 'b', 'd']);
    assert.deepEqual(r.result()!.map((reply) => reply.sender), ['a', 'b']);
  });

  it("'majority' and n resolve as soon as enough replies are in; duplicates count once", () => {
    const majority = request('majority');
    majority.gatherer.delivered(1, ['a', 'b', 'c', 'd']);
    majority.reply('a');
    majority.reply('a');
    majority.reply('b');
    assert.equal(majority.result(), undefined);
    majority.reply('c');
    assert.equal(majority.result()!.length, 3);
    const two = request(2);
    two.gatherer.delivered(1, ['a', 'b', 'c']);
    two.reply('c');
    two.reply('a');
    assert.deepEqual(two.result()!.map((reply) => reply.sender), ['c', 'a']);
  });

  it('resolves with fewer replies when no more can come (as Isis does)', () => {
    const r = request(3);
    r.gatherer.delivered(1, ['a', 'b', 'c']);
    r.reply('a');
    r.gatherer.noReply(1, 'b');
    r.gatherer.view(['a', 'b']);
    assert.deepEqual(r.result()!.map((reply) => reply.sender), ['a']);
  });

  it('fails a request, or all of them', () => {
    const r = request('all');
    r.gatherer.fail(1, new Error('timeout'));
    assert.equal((r.error() as Error).message, 'timeout');
    r.reply('a');
    assert.equal(r.result(), undefined);
  });
});

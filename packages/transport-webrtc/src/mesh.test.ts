import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseControl } from './mesh.js';

describe('control messages between neighbours', () => {
  it('parses probes, peer lists and relayed signals', () => {
    assert.deepEqual(parseControl('{"t":"ping","n":5}'), { t: 'ping', n: 5 });
    assert.deepEqual(parseControl('{"t":"pong","n":5}'), { t: 'pong', n: 5 });
    assert.deepEqual(parseControl('{"t":"peers","ids":["webrtc:a","webrtc:b"]}'), { t: 'peers', ids: ['webrtc:a', 'webrtc:b'] });
    assert.deepEqual(parseControl('{"t":"relay","to":"webrtc:b","from":"webrtc:a","data":{"v":1}}'), {
      t: 'relay',
      to: 'webrtc:b',
      from: 'webrtc:a',
      data: { v: 1 },
    });
  });

  it('refuses what a hostile neighbour may send, without throwing', () => {
    const hostile = [
      '',
      'not json',
      '[]',
      'null',
      '{"t":"ping"}',
      '{"t":"ping","n":"1"}',
      '{"t":"ping","n":1.5}',
      '{"t":"peers","ids":"webrtc:a"}',
      '{"t":"peers","ids":[1]}',
      '{"t":"peers","ids":[""]}',
      `{"t":"peers","ids":${JSON.stringify(Array.from({ length: 2000 }, (_, i) => `p${i}`))}}`,
      `{"t":"peers","ids":["${'x'.repeat(300)}"]}`,
      '{"t":"relay","to":"b","from":"a"}',
      '{"t":"relay","to":5,"from":"a","data":1}',
      '{"t":"shutdown"}',
    ];
    for (const text of hostile) assert.equal(parseControl(text), undefined, text.slice(0, 80));
  });
});

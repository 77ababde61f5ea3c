import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createHub, memory } from '@synod/transport-memory';
import { createPeer } from '../src/index.js';
import { timing, waitFor } from './cluster.js';

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (data: Uint8Array) => new TextDecoder().decode(data);

describe('named state parts and setup', () => {
  it('a joiner loads each part it registered, saved at one point of the delivery sequence', async () => {
    const hub = createHub();
    const founder = await createPeer({ transport: memory({ hub }) });
    const joiner = await createPeer({ transport: memory({ hub }) });
    try {
      let app = 'app-0';
      let counter = 0;
      const group = await founder.join('g', {
        ...timing,
        state: { save: () => bytes(app), load: () => assert.fail('a founder loads nothing') },
        setup: (g) => {
          g.statePart('counter', { save: () => Uint8Array.of(counter), load: () => assert.fail('a founder loads nothing') });
          g.statePart('other', { save: () => bytes('not registered by the joiner'), load: () => undefined });
          g.handle('INC', () => void counter++);
        },
      });
      await group.abcast('INC');
      await group.abcast('INC');
      app = 'app-2';
      const loaded: string[] = [];
      let joinerCounter = -1;
      let handlerSeen = false;
      const second = await joiner.join('g', {
        ...timing,
        state: { save: () => bytes(''), load: (data) => void loaded.push(`app=${text(data)}`) },
        setup: (g) => {
          g.statePart('counter', { save: () => Uint8Array.of(joinerCounter), load: (data) => void (joinerCounter = data[0]!) });
          g.handle('INC', () => void (joinerCounter++, (handlerSeen = true)));
        },
      });
      assert.deepEqual(loaded, ['app=app-2']);
      assert.equal(joinerCounter, 2);
      await second.abcast('INC');
      await waitFor(() => handlerSeen, 'the joiner to deliver its own INC');
      assert.equal(joinerCounter, 3);
      assert.throws(() => second.statePart('counter', { save: () => new Uint8Array(), load: () => undefined }), { code: 'INVALID_ARGUMENT' });
    } finally {
      await Promise.all([founder.close(), joiner.close()]);
    }
  });

  it('a throwing setup fails the join and leaves the name free', async () => {
    const hub = createHub();
    const peer = await createPeer({ transport: memory({ hub }) });
    try {
      await assert.rejects(
        peer.join('g', {
          ...timing,
          setup: () => {
            throw new Error('boom');
          },
        }),
        /boom/,
      );
      const group = await peer.join('g', timing);
      assert.equal(group.view?.members.length, 1);
    } finally {
      await peer.close();
    }
  });
});

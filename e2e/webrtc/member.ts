/**
 * A Node member of the mixed browser + Node test, driven by its parent over IPC:
 *   → { cmd: 'start', signaling, room }   ← { event: 'started', address, memberId, loaded }
 *   → { cmd: 'send', count, prefix, padChars? } ← { event: 'sent' }
 *   → { cmd: 'state' }                    ← { event: 'state', delivered, viewSize, viewId }
 *   → { cmd: 'close' }                    ← { event: 'closed' }, then exits
 * and reports { event: 'view' | 'error', … } as they happen.
 */
import { startMember, type Member } from './harness.js';

const reply = (message: Record<string, unknown>): void => void process.send!(message);
let member: Member | undefined;

// A stuck run must not outlive the test that started it.
setTimeout(() => process.exit(3), Number(process.env['E2E_DEADLINE_MS'] ?? 120_000)).unref();
process.on('disconnect', () => process.exit(0));

process.on('message', (command: Record<string, any>) => {
  void (async () => {
    try {
      switch (command['cmd']) {
        case 'start':
          member = await startMember(command['signaling'], command['room'], (event) => reply({ ...event }));
          reply({ event: 'started', address: member.address, memberId: member.memberId, loaded: member.loaded });
          break;
        case 'send':
          await member!.send(command['count'], command['prefix'], command['padChars']);
          reply({ event: 'sent' });
          break;
        case 'state':
          reply({ event: 'state', delivered: member?.delivered ?? [], viewSize: member?.viewSize() ?? 0, viewId: member?.viewId() ?? -1 });
          break;
        case 'close':
          await member?.close();
          reply({ event: 'closed' });
          process.disconnect();
          break;
      }
    } catch (error) {
      reply({ event: 'failed', message: String(error instanceof Error ? error.stack : error) });
    }
  })();
});

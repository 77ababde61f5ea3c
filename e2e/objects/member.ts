/**
 * The Node member of the objects e2e test, driven by its parent over IPC:
 *   → { cmd: 'start', signaling, room, dir }     ← { event: 'started' }
 *   → { cmd: 'increment', page, count, who }     ← { event: 'incremented' }
 *   → { cmd: 'state' }                           ← { event: 'state', ...RegionState }
 */
import { openStorage } from '@synod/storage';
import { startRegionMember, type RegionMember } from './harness.js';

const reply = (message: Record<string, unknown>): void => void process.send!(message);
let member: RegionMember | undefined;

setTimeout(() => process.exit(3), Number(process.env['E2E_DEADLINE_MS'] ?? 120_000)).unref();
process.on('disconnect', () => process.exit(0));

process.on('message', (command: Record<string, any>) => {
  void (async () => {
    try {
      switch (command['cmd']) {
        case 'start':
          member = await startRegionMember(command['signaling'], command['room'], await openStorage('objects-e2e', { dir: command['dir'] }));
          reply({ event: 'started' });
          break;
        case 'increment':
          await member!.increment(command['page'], command['count'], command['who']);
          reply({ event: 'incremented' });
          break;
        case 'state':
          reply({ event: 'state', ...member!.state() });
          break;
      }
    } catch (error) {
      reply({ event: 'failed', message: String(error instanceof Error ? error.stack : error) });
    }
  })();
});

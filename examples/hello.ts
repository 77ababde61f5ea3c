// Three peers on an in-process hub join 'sector-D5'. Alice founds it with a state (the flights she
// tracks); Bob and Carol receive it by state transfer. Bob then claims a flight with abcast (total
// order) and gathers a reply from every member.
import { createPeer, type Group, type Peer } from '@synod/peer';
import { createHub, memory } from '@synod/transport-memory';

const hub = createHub();
const timing = { heartbeatMs: 20, suspectAfterMs: 300, discoveryMs: 50 };

async function start(id: string, flights: string[]): Promise<[Peer, Group]> {
  const peer = await createPeer({ transport: memory({ hub, id }) });
  const group = await peer.join('sector-D5', {
    ...timing,
    state: {
      save: () => new TextEncoder().encode(JSON.stringify(flights)),
      load: (bytes) => void flights.splice(0, Infinity, ...JSON.parse(new TextDecoder().decode(bytes))),
    },
  });
  console.log(`${id} joined as ${group.memberId} in view ${group.view!.viewId}, flights: ${flights.join(' ')}`);
  group.on('view', (view) => console.log(`${id} sees view ${view.viewId}: ${view.members.join(' ')}`));
  group.handle<string>('CLAIM', (msg) => {
    console.log(`${id} delivers CLAIM ${msg.data} from ${msg.sender}`);
    flights.push(msg.data);
    msg.reply(`${id} tracks ${flights.length} flights`);
  });
  return [peer, group];
}

const [alice] = await start('alice', ['AF123', 'BA456']);
const [bob, bobGroup] = await start('bob', []);
const [carol] = await start('carol', []);

const replies = await bobGroup.abcast('CLAIM', 'KL789', { replies: 'all', timeoutMs: 2000 });
for (const reply of replies) console.log(`reply from ${reply.sender}: ${reply.data}`);
await Promise.all([alice, bob, carol].map((peer) => peer.close()));

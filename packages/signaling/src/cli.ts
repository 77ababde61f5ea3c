/**
 * synod-signal: the signaling server as a command.
 *
 *   synod-signal [--port 8787] [--host 127.0.0.1] [--max-message-bytes 16384]
 *                [--messages-per-second 20] [--burst 40] [--max-peers-per-room 256]
 *
 * Prints `synod-signal listening on ws://host:port` once listening; SIGINT or SIGTERM closes every
 * connection, prints the counters and exits 0.
 */
import { parseArgs } from 'node:util';
import { startSignalingServer } from './server.js';

const USAGE = `usage: synod-signal [--port 8787] [--host 127.0.0.1] [--max-message-bytes N]
                    [--messages-per-second N] [--burst N] [--max-peers-per-room N]`;

function integer(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) {
    console.error(`synod-signal: --${name} takes a non-negative integer, got ${value}\n${USAGE}`);
    process.exit(2);
  }
  return Number(value);
}

export async function main(argv: readonly string[]): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        'max-message-bytes': { type: 'string' },
        'messages-per-second': { type: 'string' },
        burst: { type: 'string' },
        'max-peers-per-room': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    console.error(`synod-signal: ${(error as Error).message}\n${USAGE}`);
    process.exit(2);
  }
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const server = await startSignalingServer({
    port: integer('port', values.port) ?? 8787,
    host: values.host ?? '127.0.0.1',
    maxMessageBytes: integer('max-message-bytes', values['max-message-bytes']),
    messagesPerSecond: integer('messages-per-second', values['messages-per-second']),
    burst: integer('burst', values.burst),
    maxPeersPerRoom: integer('max-peers-per-room', values['max-peers-per-room']),
  });
  console.log(`synod-signal listening on ${server.url}`);
  const stop = async () => {
    await server.close();
    console.log(`synod-signal stopped ${JSON.stringify(server.stats)}`);
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

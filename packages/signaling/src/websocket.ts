// Node variant; browsers get websocket.browser.ts through the package's "#websocket" import map.
import type { WebSocketConstructor } from './socket.js';

/** The global WebSocket where the runtime has one (Node ≥ 22), else the `ws` package (Node 20). */
export async function defaultWebSocket(): Promise<WebSocketConstructor> {
  const global = (globalThis as { WebSocket?: unknown }).WebSocket;
  if (typeof global === 'function') return global as WebSocketConstructor;
  const { WebSocket } = await import('ws');
  return WebSocket as unknown as WebSocketConstructor;
}

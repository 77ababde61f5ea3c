import type { WebSocketConstructor } from './socket.js';

/** Browsers always have a WebSocket; `ws` is never bundled. */
export async function defaultWebSocket(): Promise<WebSocketConstructor> {
  return globalThis.WebSocket as unknown as WebSocketConstructor;
}

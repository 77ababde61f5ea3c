export { createHub, memory, type Hub, type HubOptions, type HubStats, type MemoryInit } from './hub.js';

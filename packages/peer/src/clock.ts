/** The real-world inputs the core never touches itself: time, timers and randomness. */
export interface Clock {
  /** Milliseconds on a monotonic clock. */
  now(): number;
  setTimer(callback: () => void, delayMs: number): unknown;
  clearTimer(handle: unknown): void;
}

export const realClock: Clock = {
  now: () => performance.now(),
  setTimer: (callback, delayMs) => setTimeout(callback, delayMs),
  clearTimer: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** Uniform in [0, 1) from crypto.getRandomValues, drawn in blocks. */
export function cryptoRandom(): () => number {
  const block = new Uint32Array(64);
  let next = block.length;
  return () => {
    if (next === block.length) {
      globalThis.crypto.getRandomValues(block);
      next = 0;
    }
    return block[next++]! / 0x1_0000_0000;
  };
}

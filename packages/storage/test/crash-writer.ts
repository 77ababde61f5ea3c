// Child of crash.test.ts: writes generations of a batch and of one large value until it is killed.
// Every value of generation g is `g` (u32) then the byte g & 0xff repeated, so a torn or mixed
// value shows. Reports each batch as it starts, and each generation once putMany / put has resolved.
import { openStorage } from '@synod/storage';

export const BATCH_KEYS = Array.from({ length: 20 }, (_, i) => `batch/${i}`);
export const BATCH_VALUE_BYTES = 64 * 1024;
export const SINGLE_VALUE_BYTES = 256 * 1024;

export function valueOf(generation: number, size: number): Uint8Array {
  const value = new Uint8Array(size).fill(generation & 0xff);
  new DataView(value.buffer).setUint32(0, generation);
  return value;
}

/** The generation a value holds, or throws if it is torn (wrong size, mixed bytes). */
export function generationOf(value: Uint8Array, size: number): number {
  if (value.length !== size) throw new Error(`torn value: ${value.length} bytes, expected ${size}`);
  const generation = new DataView(value.buffer, value.byteOffset).getUint32(0);
  if (!value.subarray(4).every((byte) => byte === (generation & 0xff))) throw new Error(`torn value of generation ${generation}`);
  return generation;
}

if (process.send) {
  const dir = process.argv[2]!;
  const storage = await openStorage('crash', { dir });
  const first = await storage.get(BATCH_KEYS[0]!);
  for (let generation = (first ? generationOf(first, BATCH_VALUE_BYTES) : 0) + 1; ; generation++) {
    process.send({ starting: generation });
    await storage.putMany(BATCH_KEYS.map((key) => [key, valueOf(generation, BATCH_VALUE_BYTES)]));
    process.send({ batch: generation });
    await storage.put('single', valueOf(generation, SINGLE_VALUE_BYTES));
    process.send({ single: generation });
  }
}

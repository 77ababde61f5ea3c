/** What every benchmark script shares: the BENCH line, percentiles, and timestamped payloads. */

/** Milliseconds on a clock shared by the processes of one machine (payload timestamps cross them). */
export const wallMs = (): number => performance.timeOrigin + performance.now();

/** Prints `BENCH {"name","unit","value","baseline","ratio"}`: a figure beside its same-run baseline. */
export function report(name: string, unit: string, value: number, baseline: number): void {
  const round = (x: number) => Math.round(x * 1000) / 1000;
  console.log(`BENCH ${JSON.stringify({ name, unit, value: round(value), baseline: round(baseline), ratio: round(value / baseline) })}`);
}

export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

/** A payload of `size` bytes (at least 8) whose first 8 bytes hold the time it was made. */
export function stamp(size: number): Uint8Array {
  const payload = new Uint8Array(size);
  new DataView(payload.buffer).setFloat64(0, wallMs());
  return payload;
}

export function sentAt(bytes: Uint8Array): number {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getFloat64(0);
}

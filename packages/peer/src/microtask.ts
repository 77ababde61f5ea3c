/**
 * Microtasks on the data path, run once or twice per message. Node's queueMicrotask makes an
 * AsyncResource and a bound function per call (about 120–240 ns here); a reaction on a settled
 * promise costs about 50 ns and two small objects. The callback must not throw: a throw becomes an
 * unhandled rejection, not an uncaught exception (the group's drain reports what it catches through
 * its 'error' event; the monitor's run loop catches its tasks' errors).
 */
const settled = Promise.resolve();

export function scheduleMicrotask(callback: () => void): void {
  void settled.then(callback);
}

// Browser variant of trace-sink.ts: no file system, so only a callback can receive the trace.
import { SynodError } from '@synod/core';
import type { TraceOption, TraceSink } from './trace.js';

export function openTraceSink(option: TraceOption): TraceSink | undefined {
  if (option === false || option === undefined) return undefined;
  if (typeof option === 'function') return { write: option, close() {} };
  throw new SynodError('INVALID_ARGUMENT', 'tracing to a file needs Node; in a browser pass a callback as `trace`');
}

// Node variant; browsers get trace-sink.browser.ts through the package's "#trace-sink" import map.
import { closeSync, openSync, writeSync } from 'node:fs';
import { SynodError } from '@synod/core';
import type { TraceOption, TraceSink } from './trace.js';

interface FileSink {
  readonly fd: number;
  pending: string;
  users: number;
  flushScheduled: boolean;
}

// One descriptor per path in the process, shared by its peers: appends are whole lines, so peers'
// records interleave by line and never mid-line.
const files = new Map<string, FileSink>();
let exitHookInstalled = false;

function flush(file: FileSink): void {
  file.flushScheduled = false;
  if (file.pending.length === 0) return;
  const text = file.pending;
  file.pending = '';
  writeSync(file.fd, text);
}

function fileSink(path: string): TraceSink {
  let file = files.get(path);
  if (!file) {
    let fd: number;
    try {
      fd = openSync(path, 'a');
    } catch (cause) {
      throw new SynodError('INVALID_ARGUMENT', `cannot open the trace file ${path}`, { cause });
    }
    file = { fd, pending: '', users: 0, flushScheduled: false };
    files.set(path, file);
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      process.once('exit', () => {
        for (const open of files.values()) flush(open);
      });
    }
  }
  const shared = file;
  shared.users++;
  let closed = false;
  return {
    write(line) {
      if (closed) return;
      shared.pending += line + '\n';
      if (!shared.flushScheduled) {
        shared.flushScheduled = true;
        setImmediate(() => flush(shared));
      }
    },
    close() {
      if (closed) return;
      closed = true;
      flush(shared);
      if (--shared.users === 0) {
        files.delete(path);
        closeSync(shared.fd);
      }
    },
  };
}

/** A sink for the `trace` option, else for SYNOD_TRACE=<file>, else none. */
export function openTraceSink(option: TraceOption): TraceSink | undefined {
  if (option === false) return undefined;
  if (typeof option === 'function') return { write: option, close() {} };
  const path = option ?? process.env['SYNOD_TRACE'];
  if (path === undefined || path === '') return undefined;
  return fileSink(path);
}

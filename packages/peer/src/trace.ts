/**
 * Where a peer writes its JSONL trace: a file path (Node), a callback receiving one JSON line per
 * record, or false to disable. When the option is absent, Node honours SYNOD_TRACE=<file>.
 */
export type TraceOption = string | ((line: string) => void) | false | undefined;

export interface TraceSink {
  /** One line, without its newline. */
  write(line: string): void;
  close(): void;
}

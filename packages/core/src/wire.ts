/**
 * The wire format: one frame per datagram, `[version][kind][group][body]`. Every decoder treats
 * its input as hostile; decodeFrame throws DecodeError, which the member counts and drops.
 */
import { DecodeError, Reader, Writer, encodeUtf8, varintBytes } from './codec.js';
import { packInto, packedCount } from './pack.js';

export const WIRE_VERSION = 2;
/** Bounds on lists carried by frames: a group is never larger than this. */
export const MAX_MEMBERS = 1024;
const MAX_ID_BYTES = 256;
const MAX_ORDER_ENTRIES = 8192;

export type UnitOrder = 'fifo' | 'causal' | 'total' | 'safe' | 'order';
const UNIT_ORDERS: readonly UnitOrder[] = ['fifo', 'causal', 'total', 'safe', 'order'];
/** Data unit flags: bit 0 first, bit 1 last, bits 2–4 the order, bit 5 packed. */
const PACKED_FLAG = 0x20;

export interface Ballot {
  readonly attempt: number;
  /** Index of the proposing coordinator in the old view. */
  readonly coordinator: number;
}

export function compareBallots(a: Ballot, b: Ballot): number {
  return a.attempt - b.attempt || a.coordinator - b.coordinator;
}

/** What a flush decides: the next view's members and the cut of the old view every survivor delivers. */
export interface Proposal {
  readonly members: readonly string[];
  /** Per old-view sender index: the last unit seqno delivered in the old view. */
  readonly cut: readonly number[];
  /** Per old-view sender index: an old-view member index that holds every unit up to the cut. */
  readonly holders: readonly number[];
  /** The old-view members whose flushOk the proposing round needs before it installs the view. */
  readonly participants: readonly string[];
}

export interface OrderEntry {
  readonly senderIndex: number;
  readonly messageSeqno: number;
}

/** A reliable-stream unit: one fragment of a message, or a batch of total-order decisions. */
export type Unit =
  | {
      readonly order: Exclude<UnitOrder, 'order'>;
      readonly first: boolean;
      readonly last: boolean;
      /** On the first fragment: the whole message's length. */
      readonly messageBytes: number;
      /** On the first fragment of a causal message: its vector timestamp. */
      readonly vectorClock: readonly number[] | undefined;
      readonly chunk: Uint8Array;
      /**
       * A pack (pack.ts): a whole unit holding these messages; first and last are then both set.
       * Sending, they are written straight into the frame (`chunk` is then ignored and
       * `messageBytes` is the pack's length).
       */
      readonly parts?: readonly Uint8Array[];
      /**
       * Decoded, a pack is `chunk` itself, checked whole once; its messages are read from it when
       * delivered. A view per message made here would live, and age, with the unit until then.
       */
      readonly packed?: boolean;
    }
  | { readonly order: 'order'; readonly entries: readonly OrderEntry[] };

export type Frame =
  | { readonly kind: 'data'; readonly viewId: number; readonly senderIndex: number; readonly seqno: number; readonly unit: Unit }
  | { readonly kind: 'nak'; readonly viewId: number; readonly senderIndex: number; readonly fromSeqno: number; readonly toSeqno: number }
  /** `frozen`: the reporter has promised a flush; its digest then counts for garbage collection
   *  but not as a safe-delivery acknowledgement (the flush's cut may leave those units out). */
  | { readonly kind: 'digest'; readonly viewId: number; readonly received: readonly number[]; readonly frozen: boolean }
  /** `coordinator`: the coordinator of the group the asker is joining, '' while it knows of none. */
  | { readonly kind: 'discover'; readonly coordinator: string }
  | { readonly kind: 'discoverReply'; readonly inGroup: boolean; readonly viewId: number; readonly coordinator: string }
  | { readonly kind: 'joinRequest' }
  | { readonly kind: 'leaveRequest'; readonly viewId: number; readonly graceful: boolean }
  | { readonly kind: 'flushStart'; readonly viewId: number; readonly ballot: Ballot }
  | {
      readonly kind: 'flushPromise';
      readonly viewId: number;
      readonly ballot: Ballot;
      readonly received: readonly number[];
      /** The provider this member still awaits its state from ('' when it has its state). */
      readonly stateFrom: string;
      readonly completed: { readonly ballot: Ballot; readonly proposal: Proposal } | undefined;
      /** The ballot this member last accepted, complete or not: proof, when lower than a completed
       *  proposal's, that this member never acknowledged that proposal. */
      readonly accepted: Ballot | undefined;
    }
  | { readonly kind: 'flushReject'; readonly viewId: number; readonly promised: Ballot }
  | { readonly kind: 'flushAccept'; readonly viewId: number; readonly ballot: Ballot; readonly proposal: Proposal }
  | { readonly kind: 'flushOk'; readonly viewId: number; readonly ballot: Ballot }
  /** Install view viewId + 1. */
  | { readonly kind: 'view'; readonly viewId: number; readonly oldMembers: readonly string[]; readonly proposal: Proposal }
  | { readonly kind: 'viewAck'; readonly viewId: number }
  | { readonly kind: 'viewRequest'; readonly viewId: number }
  | { readonly kind: 'notMember'; readonly viewId: number }
  | { readonly kind: 'xferRequest'; readonly viewId: number; readonly chunks: readonly number[] }
  | { readonly kind: 'xferChunk'; readonly viewId: number; readonly index: number; readonly stateBytes: number; readonly data: Uint8Array }
  | { readonly kind: 'xferWait'; readonly viewId: number }
  | { readonly kind: 'xferDone'; readonly viewId: number }
  /** A would-be founder asks a looking peer for its consent (found.ts). */
  | { readonly kind: 'foundRequest'; readonly attempt: number }
  /** `votedFor`: the candidate the answering peer supports ('' for none). */
  | { readonly kind: 'foundVote'; readonly attempt: number; readonly granted: boolean; readonly votedFor: string }
  /** The candidate withdrew `attempt`: its voters are free again. */
  | { readonly kind: 'foundRelease'; readonly attempt: number };

export type FrameKind = Frame['kind'];
const KINDS: readonly FrameKind[] = [
  'data', 'nak', 'digest', 'discover', 'discoverReply', 'joinRequest', 'leaveRequest', 'flushStart',
  'flushPromise', 'flushReject', 'flushAccept', 'flushOk', 'view', 'viewAck', 'viewRequest',
  'notMember', 'xferRequest', 'xferChunk', 'xferWait', 'xferDone', 'foundRequest', 'foundVote', 'foundRelease',
];
const KIND_CODES = new Map(KINDS.map((kind, code) => [kind, code]));

function writeBallot(writer: Writer, ballot: Ballot): void {
  writer.varint(ballot.attempt).varint(ballot.coordinator);
}

function readBallot(reader: Reader): Ballot {
  return { attempt: reader.varint(), coordinator: reader.varint() };
}

function writeProposal(writer: Writer, proposal: Proposal): void {
  writer.strings(proposal.members).varints(proposal.cut).varints(proposal.holders).strings(proposal.participants);
}

function readProposal(reader: Reader): Proposal {
  const members = reader.strings(MAX_MEMBERS, MAX_ID_BYTES);
  const cut = reader.varints(MAX_MEMBERS);
  const holders = reader.varints(MAX_MEMBERS);
  const participants = reader.strings(MAX_MEMBERS, MAX_ID_BYTES);
  if (cut.length !== holders.length) throw new DecodeError('cut and holders differ in length');
  if (new Set(members).size !== members.length) throw new DecodeError('duplicate member');
  return { members, cut, holders, participants };
}

/** Header bytes of a data frame, excluding the chunk: an upper bound used to size fragments. */
export function dataHeaderBytes(group: string, memberCount: number): number {
  return 2 + 5 + encodeUtf8(group).length + 4 * 9 + 5 + (memberCount + 1) * 9;
}

/** The exact length of a data frame carrying a fragment: its bytes are then allocated once, to size. */
function fragmentFrameBytes(groupBytes: number, frame: Extract<Frame, { kind: 'data' }>): number | undefined {
  const unit = frame.unit;
  if (unit.order === 'order') return undefined;
  let length = 2 + varintBytes(groupBytes) + groupBytes;
  length += varintBytes(frame.viewId) + varintBytes(frame.senderIndex) + varintBytes(frame.seqno) + 1;
  if (unit.first) {
    length += varintBytes(unit.messageBytes);
    if (unit.order === 'causal') {
      const clock = unit.vectorClock ?? [];
      length += varintBytes(clock.length);
      for (const value of clock) length += varintBytes(value);
    }
  }
  return length + (unit.parts ? unit.messageBytes : unit.chunk.length);
}

/** `headroomBytes`: free bytes before the frame in its buffer, for a runtime's envelope (Send.headroomBytes). */
export function encodeFrame(group: string, frame: Frame, headroomBytes = 0): Uint8Array {
  const groupBytes = encodeUtf8(group).length;
  const exactBytes = frame.kind === 'data' ? fragmentFrameBytes(groupBytes, frame) : undefined;
  const writer = new Writer(exactBytes ?? 64 + groupBytes + (frame.kind === 'xferChunk' ? frame.data.length : 0), true, headroomBytes);
  writer.u8(WIRE_VERSION).u8(KIND_CODES.get(frame.kind)!).string(group);
  switch (frame.kind) {
    case 'data': {
      writer.varint(frame.viewId).varint(frame.senderIndex).varint(frame.seqno);
      const unit = frame.unit;
      if (unit.order === 'order') {
        writer.u8(UNIT_ORDERS.indexOf('order') << 2);
        writer.varint(unit.entries.length);
        for (const entry of unit.entries) writer.varint(entry.senderIndex).varint(entry.messageSeqno);
      } else {
        writer.u8((UNIT_ORDERS.indexOf(unit.order) << 2) | (unit.first ? 1 : 0) | (unit.last ? 2 : 0) | (unit.parts || unit.packed ? PACKED_FLAG : 0));
        if (unit.first) {
          writer.varint(unit.messageBytes);
          if (unit.order === 'causal') writer.varints(unit.vectorClock ?? []);
        }
        if (unit.parts) packInto(writer, unit.parts);
        else writer.raw(unit.chunk);
      }
      break;
    }
    case 'nak':
      writer.varint(frame.viewId).varint(frame.senderIndex).varint(frame.fromSeqno).varint(frame.toSeqno);
      break;
    case 'digest':
      writer.varint(frame.viewId).varints(frame.received).u8(frame.frozen ? 1 : 0);
      break;
    case 'discover':
      writer.string(frame.coordinator);
      break;
    case 'joinRequest':
      break;
    case 'discoverReply':
      writer.u8(frame.inGroup ? 1 : 0).varint(frame.viewId).string(frame.coordinator);
      break;
    case 'leaveRequest':
      writer.varint(frame.viewId).u8(frame.graceful ? 1 : 0);
      break;
    case 'flushStart':
    case 'flushOk':
      writer.varint(frame.viewId);
      writeBallot(writer, frame.ballot);
      break;
    case 'flushPromise':
      writer.varint(frame.viewId);
      writeBallot(writer, frame.ballot);
      writer.varints(frame.received).string(frame.stateFrom);
      if (frame.accepted) {
        writer.u8(1);
        writeBallot(writer, frame.accepted);
      } else {
        writer.u8(0);
      }
      if (frame.completed) {
        writer.u8(1);
        writeBallot(writer, frame.completed.ballot);
        writeProposal(writer, frame.completed.proposal);
      } else {
        writer.u8(0);
      }
      break;
    case 'flushReject':
      writer.varint(frame.viewId);
      writeBallot(writer, frame.promised);
      break;
    case 'flushAccept':
      writer.varint(frame.viewId);
      writeBallot(writer, frame.ballot);
      writeProposal(writer, frame.proposal);
      break;
    case 'view':
      writer.varint(frame.viewId).strings(frame.oldMembers);
      writeProposal(writer, frame.proposal);
      break;
    case 'viewAck':
    case 'viewRequest':
    case 'notMember':
    case 'xferWait':
    case 'xferDone':
      writer.varint(frame.viewId);
      break;
    case 'xferRequest':
      writer.varint(frame.viewId).varints(frame.chunks);
      break;
    case 'xferChunk':
      writer.varint(frame.viewId).varint(frame.index).varint(frame.stateBytes).raw(frame.data);
      break;
    case 'foundRequest':
    case 'foundRelease':
      writer.varint(frame.attempt);
      break;
    case 'foundVote':
      writer.varint(frame.attempt).u8(frame.granted ? 1 : 0).string(frame.votedFor);
      break;
  }
  return writer.finish();
}

/** The group a frame is addressed to, or undefined when the header is malformed. */
export function peekGroup(bytes: Uint8Array): string | undefined {
  try {
    const reader = new Reader(bytes);
    if (reader.u8() !== WIRE_VERSION) return undefined;
    reader.u8();
    return reader.string(MAX_ID_BYTES);
  } catch {
    return undefined;
  }
}

export function decodeFrame(bytes: Uint8Array, maxMessageBytes: number): { group: string; frame: Frame } {
  const reader = new Reader(bytes);
  if (reader.u8() !== WIRE_VERSION) throw new DecodeError('unknown wire version');
  const kind = KINDS[reader.u8()];
  if (kind === undefined) throw new DecodeError('unknown frame kind');
  const group = reader.string(MAX_ID_BYTES);
  const frame = decodeBody(kind, reader, maxMessageBytes);
  if (frame.kind !== 'data' && frame.kind !== 'xferChunk') reader.end();
  return { group, frame };
}

function decodeBody(kind: FrameKind, reader: Reader, maxMessageBytes: number): Frame {
  switch (kind) {
    case 'data': {
      const viewId = reader.varint();
      const senderIndex = reader.varint();
      const seqno = reader.varint();
      const flags = reader.u8();
      const order = UNIT_ORDERS[(flags >> 2) & 7];
      if (order === undefined || seqno === 0 || (flags & 0xc0) !== 0) throw new DecodeError('bad data unit');
      if (order === 'order') {
        const count = reader.count(MAX_ORDER_ENTRIES);
        const entries: OrderEntry[] = [];
        for (let i = 0; i < count; i++) entries.push({ senderIndex: reader.varint(), messageSeqno: reader.varint() });
        reader.end();
        return { kind, viewId, senderIndex, seqno, unit: { order, entries } };
      }
      const first = (flags & 1) !== 0;
      const last = (flags & 2) !== 0;
      const packed = (flags & PACKED_FLAG) !== 0;
      let messageBytes = 0;
      let vectorClock: number[] | undefined;
      if (first) {
        messageBytes = reader.varint();
        if (messageBytes > maxMessageBytes) throw new DecodeError('message too large');
        if (order === 'causal') vectorClock = reader.varints(MAX_MEMBERS);
      }
      const chunk = reader.rest();
      if (packed && !(first && last && messageBytes === chunk.length && packedCount(chunk) !== undefined)) throw new DecodeError('bad packed unit');
      return { kind, viewId, senderIndex, seqno, unit: { order, first, last, messageBytes, vectorClock, chunk, packed } };
    }
    case 'nak':
      return { kind, viewId: reader.varint(), senderIndex: reader.varint(), fromSeqno: reader.varint(), toSeqno: reader.varint() };
    case 'digest':
      return { kind, viewId: reader.varint(), received: reader.varints(MAX_MEMBERS), frozen: reader.u8() === 1 };
    case 'discover':
      return { kind, coordinator: reader.string(MAX_ID_BYTES) };
    case 'joinRequest':
      return { kind };
    case 'discoverReply':
      return { kind, inGroup: reader.u8() === 1, viewId: reader.varint(), coordinator: reader.string(MAX_ID_BYTES) };
    case 'leaveRequest':
      return { kind, viewId: reader.varint(), graceful: reader.u8() === 1 };
    case 'flushStart':
    case 'flushOk':
      return { kind, viewId: reader.varint(), ballot: readBallot(reader) };
    case 'flushPromise': {
      const viewId = reader.varint();
      const ballot = readBallot(reader);
      const received = reader.varints(MAX_MEMBERS);
      const stateFrom = reader.string(MAX_ID_BYTES);
      const accepted = reader.u8() === 1 ? readBallot(reader) : undefined;
      const completed = reader.u8() === 1 ? { ballot: readBallot(reader), proposal: readProposal(reader) } : undefined;
      return { kind, viewId, ballot, received, stateFrom, accepted, completed };
    }
    case 'flushReject':
      return { kind, viewId: reader.varint(), promised: readBallot(reader) };
    case 'flushAccept':
      return { kind, viewId: reader.varint(), ballot: readBallot(reader), proposal: readProposal(reader) };
    case 'view':
      return { kind, viewId: reader.varint(), oldMembers: reader.strings(MAX_MEMBERS, MAX_ID_BYTES), proposal: readProposal(reader) };
    case 'viewAck':
    case 'viewRequest':
    case 'notMember':
    case 'xferWait':
    case 'xferDone':
      return { kind, viewId: reader.varint() };
    case 'xferRequest':
      return { kind, viewId: reader.varint(), chunks: reader.varints(4096) };
    case 'xferChunk':
      return { kind, viewId: reader.varint(), index: reader.varint(), stateBytes: reader.varint(), data: reader.rest() };
    case 'foundRequest':
    case 'foundRelease':
      return { kind, attempt: reader.varint() };
    case 'foundVote':
      return { kind, attempt: reader.varint(), granted: reader.u8() === 1, votedFor: reader.string(MAX_ID_BYTES) };
  }
}

/**
 * The answer of a peer that is not in `group` at all to a frame addressed to it: for a discover,
 * a reply saying it is neither in the group nor looking for it (coordinator ''), so that a would-be
 * founder does not wait for it; nothing for any other frame.
 */
export function declineDiscover(bytes: Uint8Array): Uint8Array | undefined {
  try {
    const { group, frame } = decodeFrame(bytes, 0);
    if (frame.kind !== 'discover') return undefined;
    return encodeFrame(group, { kind: 'discoverReply', inGroup: false, viewId: 0, coordinator: '' });
  } catch {
    return undefined;
  }
}

import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { CONTROL_CHANNEL_ID, Link, type LinkCounters, type LinkOptions } from './link.js';
import type { DataChannelLike, PeerConnectionLike } from './rtc.js';
import type { SimplePeerSignal } from './signal.js';

/** A data channel that records what it is given; the test plays the network by draining it. */
class FakeChannel implements DataChannelLike {
  constructor(
    readonly label = 'synod',
    readonly init: { ordered?: boolean; negotiated?: boolean; id?: number } = {},
  ) {}
  readyState = 'connecting';
  bufferedAmount = 0;
  bufferedAmountLowThreshold = 0;
  binaryType = 'blob';
  onopen: ((event: unknown) => void) | null = null;
  onclose: ((event: unknown) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  onmessage: ((event: { readonly data: unknown }) => void) | null = null;
  onbufferedamountlow: ((event: unknown) => void) | null = null;
  readonly sent: Uint8Array[] = [];
  closed = false;
  readonly texts: string[] = [];
  send(data: Uint8Array | string): void {
    if (this.readyState !== 'open') throw new Error('InvalidStateError');
    if (typeof data === 'string') {
      this.texts.push(data);
      return;
    }
    this.sent.push(data.slice());
    this.bufferedAmount += data.byteLength;
  }
  close(): void {
    this.closed = true;
    this.readyState = 'closed';
  }
  open(): void {
    this.readyState = 'open';
    this.onopen?.({});
  }
  /** The network took `bytes` from the buffer. */
  drain(bytes: number): void {
    const before = this.bufferedAmount;
    this.bufferedAmount = Math.max(0, before - bytes);
    if (before > this.bufferedAmountLowThreshold && this.bufferedAmount <= this.bufferedAmountLowThreshold) this.onbufferedamountlow?.({});
  }
}

class FakePeerConnection implements PeerConnectionLike {
  static made: FakePeerConnection[] = [];
  iceConnectionState = 'new';
  connectionState = 'new';
  localDescription: { type: string; sdp: string } | null = null;
  remoteDescription: { type: string; sdp: string } | null = null;
  onicecandidate: PeerConnectionLike['onicecandidate'] = null;
  oniceconnectionstatechange: ((event: unknown) => void) | null = null;
  onconnectionstatechange: ((event: unknown) => void) | null = null;
  ondatachannel: PeerConnectionLike['ondatachannel'] = null;
  readonly candidates: unknown[] = [];
  readonly channels: FakeChannel[] = [];
  closed = false;
  constructor(readonly configuration: Record<string, unknown>) {
    FakePeerConnection.made.push(this);
  }
  createDataChannel(label: string, init?: { ordered?: boolean; negotiated?: boolean; id?: number }): FakeChannel {
    const channel = new FakeChannel(label, init);
    this.channels.push(channel);
    return channel;
  }
  async createOffer() {
    return { type: 'offer', sdp: 'v=0\r\nfake offer\r\n' };
  }
  async createAnswer() {
    return { type: 'answer', sdp: 'v=0\r\nfake answer\r\n' };
  }
  async setLocalDescription(description: { type: string; sdp: string }) {
    this.localDescription = description;
  }
  async setRemoteDescription(description: { type: string; sdp: string }) {
    this.remoteDescription = description;
  }
  async addIceCandidate(candidate: unknown) {
    this.candidates.push(candidate);
  }
  close(): void {
    this.closed = true;
  }
  ice(state: string): void {
    this.iceConnectionState = state;
    this.oniceconnectionstatechange?.({});
  }
}

const options = (initiator: boolean, overrides: Partial<LinkOptions> = {}): LinkOptions => ({
  initiator,
  RTCPeerConnection: FakePeerConnection,
  configuration: { iceServers: [] },
  channelLabel: 'synod',
  controlLabel: 'synod-control',
  highWaterBytes: 100,
  maxQueuedBytes: 50,
  connectTimeoutMs: 10_000,
  disconnectedGraceMs: 3000,
  ...overrides,
});

function makeLink(initiator: boolean, overrides: Partial<LinkOptions> = {}) {
  const signals: SimplePeerSignal[] = [];
  const messages: unknown[] = [];
  const controls: string[] = [];
  const closes: string[] = [];
  let opened = 0;
  let drained = 0;
  const counters: LinkCounters = { droppedBackpressure: 0, queuedFrames: 0 };
  const link = new Link(options(initiator, overrides), {
    signal: (signal) => signals.push(signal),
    open: () => opened++,
    message: (data) => messages.push(data),
    control: (text) => controls.push(text),
    controlOpen: () => controls.push('(open)'),
    close: (reason) => closes.push(reason),
    drained: () => drained++,
  }, counters);
  const pc = FakePeerConnection.made.at(-1)!;
  return { link, pc, signals, messages, controls, closes, counters, opened: () => opened, drained: () => drained };
}

/** Lets the link's promise chain (descriptions, candidates) run. */
const settle = async () => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};

describe('Link: a thin adapter over RTCPeerConnection in simple-peer signal format', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout'] }));
  afterEach(() => {
    mock.timers.reset();
    FakePeerConnection.made.length = 0;
  });

  it('the initiator opens the channel, offers, trickles candidates and takes an answer', async () => {
    const { link, pc, signals } = makeLink(true);
    assert.deepEqual(pc.channels.map((channel) => channel.label), ['synod', 'synod-control']);
    // Only the data channel is announced: a simple-peer answerer sends on the last channel announced to it.
    assert.deepEqual(pc.channels.map((channel) => channel.init), [{ ordered: true }, { ordered: true, negotiated: true, id: CONTROL_CHANNEL_ID }]);
    assert.deepEqual(pc.configuration, { iceServers: [] });
    await settle();
    assert.deepEqual(signals, [{ type: 'offer', sdp: 'v=0\r\nfake offer\r\n' }]);
    pc.onicecandidate!({ candidate: { candidate: 'a=candidate:1 1 UDP 1 127.0.0.1 5000 typ host', sdpMid: '0', sdpMLineIndex: 0 } });
    pc.onicecandidate!({ candidate: { candidate: '', sdpMid: '0', sdpMLineIndex: 0 } });
    pc.onicecandidate!({ candidate: null });
    assert.deepEqual(signals[1], { type: 'candidate', candidate: { candidate: 'candidate:1 1 UDP 1 127.0.0.1 5000 typ host', sdpMLineIndex: 0, sdpMid: '0' } });
    assert.equal(signals.length, 2);
    // A candidate before the answer waits for it.
    link.signal({ type: 'candidate', candidate: { candidate: 'candidate:2 1 udp 1 127.0.0.1 6000 typ host', sdpMid: '0', sdpMLineIndex: 0 } });
    await settle();
    assert.equal(pc.candidates.length, 0);
    link.signal({ type: 'answer', sdp: 'v=0\r\nanswer\r\n' });
    await settle();
    assert.deepEqual(pc.remoteDescription, { type: 'answer', sdp: 'v=0\r\nanswer\r\n' });
    assert.deepEqual(pc.candidates, [{ candidate: 'candidate:2 1 udp 1 127.0.0.1 6000 typ host', sdpMid: '0', sdpMLineIndex: 0 }]);
    link.close();
  });

  it('the answerer takes the offer, answers with a plain description, and adopts the channel', async () => {
    const { link, pc, signals, controls, opened } = makeLink(false);
    assert.equal(pc.channels.length, 0, 'no channel before the offer (node-datachannel would offer)');
    link.signal({ type: 'offer', sdp: 'v=0\r\noffer\r\n' });
    await settle();
    assert.deepEqual(pc.remoteDescription, { type: 'offer', sdp: 'v=0\r\noffer\r\n' });
    assert.deepEqual(signals, [{ type: 'answer', sdp: 'v=0\r\nfake answer\r\n' }]);
    // The control channel is negotiated, the same on both sides; the announced one is the data channel, whatever its label.
    const control = pc.channels[0]!;
    assert.deepEqual([control.label, control.init], ['synod-control', { ordered: true, negotiated: true, id: CONTROL_CHANNEL_ID }]);
    const channel = new FakeChannel('4f3a9c simple-peer label');
    pc.ondatachannel!({ channel });
    assert.equal(channel.binaryType, 'arraybuffer');
    channel.open();
    assert.equal(opened(), 1);
    assert.equal(link.state, 'open');
    const second = new FakeChannel('synod');
    pc.ondatachannel!({ channel: second });
    assert.ok(second.closed, 'a second data channel is refused');
    assert.equal(link.sendControl('{"t":"ping"}'), false, 'the control channel is not open yet');
    control.open();
    assert.equal(link.sendControl('{"t":"ping"}'), true);
    assert.deepEqual(control.texts, ['{"t":"ping"}']);
    assert.deepEqual(controls, ['(open)']);
    link.close();
  });

  it('queues above the high-water mark, drops and counts when the queue is full, and keeps the order', async () => {
    const { link, pc, counters, drained } = makeLink(true);
    const channel = pc.channels[0]!;
    assert.equal(link.send(Uint8Array.of(1)), false, 'nothing goes before the channel opens');
    channel.open();
    const frame = (byte: number, size = 30) => new Uint8Array(size).fill(byte);
    for (let i = 1; i <= 3; i++) assert.equal(link.send(frame(i)), true); // 90 bytes in the channel's buffer
    const reused = frame(4);
    assert.equal(link.congested, false);
    assert.equal(link.send(reused), true); // over 100: queued, as a copy
    assert.equal(link.congested, true, 'a frame waits: the runtime should hold new data');
    reused.fill(0);
    assert.equal(link.send(frame(5)), false); // the queue holds 30 of 50 bytes: 30 more do not fit
    assert.equal(counters.droppedBackpressure, 1);
    assert.equal(counters.queuedFrames, 1);
    assert.equal(link.bufferedAmount, 120);
    assert.equal(link.send(frame(6, 20)), true, 'a smaller frame still fits the queue');
    assert.equal(channel.sent.length, 3);
    channel.drain(60); // below the threshold (50): bufferedamountlow drains the queue in order
    assert.deepEqual(channel.sent.map((bytes) => bytes[0]), [1, 2, 3, 4, 6]);
    assert.equal(channel.sent[3]![0], 4, 'the queued copy, not the reused buffer');
    assert.equal(link.congested, false);
    assert.equal(drained(), 1, 'drained once, when the last waiting frame was written');
    link.close();
  });

  it('drains by polling where bufferedamountlow never fires', async () => {
    const { link, pc } = makeLink(true);
    const channel = pc.channels[0]!;
    channel.open();
    link.send(new Uint8Array(100));
    link.send(new Uint8Array(10));
    assert.equal(channel.sent.length, 1);
    channel.bufferedAmount = 0; // drained without an event
    mock.timers.tick(5);
    assert.equal(channel.sent.length, 2);
    link.close();
  });

  it('ICE failure closes the link once, releasing the connection', async () => {
    const { link, pc, closes } = makeLink(true);
    pc.channels[0]!.open();
    pc.ice('failed');
    pc.ice('closed');
    link.close();
    assert.deepEqual(closes, ['ice-failed']);
    assert.ok(pc.channels[0]!.closed);
    assert.ok(!pc.closed, 'the connection closes on the next turn, after the channels');
    mock.timers.tick(0);
    assert.ok(pc.closed);
    assert.equal(link.send(Uint8Array.of(1)), false);
  });

  it('ICE disconnected counts as lost only after the grace period', async () => {
    const { pc, closes } = makeLink(true);
    pc.channels[0]!.open();
    pc.ice('disconnected');
    mock.timers.tick(2999);
    pc.ice('connected');
    mock.timers.tick(5000);
    assert.deepEqual(closes, []);
    pc.ice('disconnected');
    mock.timers.tick(3000);
    assert.deepEqual(closes, ['ice-disconnected']);
  });

  it('a connection that never opens is given up after connectTimeoutMs, and a closed channel closes the link', async () => {
    const first = makeLink(true);
    mock.timers.tick(10_000);
    assert.deepEqual(first.closes, ['connect-timeout']);
    const second = makeLink(true);
    second.pc.channels[0]!.open();
    mock.timers.tick(20_000);
    second.pc.channels[0]!.onclose!({});
    assert.deepEqual(second.closes, ['channel-closed']);
  });

  it('delivers messages only while open, and close(…, silent) emits nothing', async () => {
    const { link, pc, messages, controls, closes } = makeLink(true);
    const channel = pc.channels[0]!;
    channel.open();
    channel.onmessage!({ data: new ArrayBuffer(3) });
    const control = pc.channels[1]!;
    control.onmessage!({ data: '{"t":"pong"}' });
    control.onmessage!({ data: new ArrayBuffer(2) }); // binary on the control channel: ignored
    link.close('closed', true);
    assert.equal(messages.length, 1);
    assert.deepEqual(controls, ['{"t":"pong"}']);
    assert.deepEqual(closes, []);
    assert.equal(channel.onmessage, null);
  });
});

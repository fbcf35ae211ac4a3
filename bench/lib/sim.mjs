// The DingTalk simulator (`dingtalk-sim` binary) as both sides of every Stream pair see it: one process per
// benchmark, driven through its `/_sim` control API (crates/dingtalk-sim/src/control.rs).
import { join } from 'node:path';

import { getJson, keepAliveAgent, postJson } from './http.mjs';
import { startAnnouncing, stop } from './proc.mjs';
import { sleep } from './stats.mjs';

export const CLIENT_ID = 'bench-client-id';
export const CLIENT_SECRET = 'bench-client-secret';

const injectAgent = keepAliveAgent(16);

export class Sim {
  static async start(binDir, extraArgs = []) {
    const { child, value } = await startAnnouncing(
      join(binDir, 'dingtalk-sim'),
      ['--client-id', CLIENT_ID, '--client-secret', CLIENT_SECRET, '--ping-interval-ms', '0', ...extraArgs],
      'DINGTALK_SIM_BASE_URL',
    );
    return new Sim(child, value);
  }

  constructor(child, baseUrl) {
    this.child = child;
    this.baseUrl = baseUrl;
  }

  stats() {
    return getJson(`${this.baseUrl}/_sim/stats`);
  }

  async ackLatenciesMs() {
    return (await getJson(`${this.baseUrl}/_sim/ack-latencies`)).ms;
  }

  inject(message) {
    return postJson(`${this.baseUrl}/_sim/messages`, message, { agent: injectAgent });
  }

  received(conversationId) {
    return getJson(`${this.baseUrl}/_sim/received?conversation_id=${encodeURIComponent(conversationId)}`);
  }

  /** Injects `count` messages built by `make(n)`, `concurrency` requests in flight. */
  async injectMany(count, make, concurrency = 16) {
    let next = 0;
    const worker = async () => {
      while (next < count) {
        const n = next++;
        await this.inject(make(n));
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  }

  /**
   * Injects `total` messages built by `make(n)` while keeping at most `high` of them unACKed (the simulator's
   * delivery pump walks its pending list on every injection, so a deep backlog would make injection
   * quadratic). Calls `onMark(acked)` whenever `every` more messages were ACKed; resolves when all were.
   */
  async feed({ total, make, every = total, onMark = () => {}, high = 1_500, low = 500, timeoutMs = 600_000 }) {
    const base = (await this.stats()).acks_received;
    const deadline = Date.now() + timeoutMs;
    let injected = 0;
    let nextMark = Math.min(every, total);
    for (;;) {
      const stats = await this.stats();
      const acked = stats.acks_received - base;
      while (acked >= nextMark && nextMark <= total) {
        await onMark(nextMark);
        nextMark = nextMark === total ? total + 1 : Math.min(nextMark + every, total);
      }
      if (acked >= total) return;
      if (Date.now() > deadline) throw new Error(`feed: ${acked} of ${total} ACKed after ${timeoutMs} ms`);
      if (injected < total && stats.pending_unacked < low) {
        const count = Math.min(high - stats.pending_unacked, total - injected);
        const start = injected;
        injected += count;
        await this.injectMany(count, (n) => make(start + n), 32);
      } else {
        await sleep(2);
      }
    }
  }

  stop() {
    return stop(this.child);
  }
}

/** A 1:1 text message from `user{n % senders}` (allow-listed as "*" by the bench config). */
export function textMessage(n, senders, text = `bench message ${n}`) {
  const sender = `user${String(n % senders).padStart(5, '0')}`;
  return { sender_staff_id: sender, sender_nick: `Bench ${sender}`, content: { text } };
}

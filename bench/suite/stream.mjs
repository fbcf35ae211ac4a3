// #1 frame → ACK latency of a 1,000-message burst and #2 the ingest ceiling, DingBridge vs the Node SDK, each on
// a fresh simulator. Latency is the simulator's view (frame written → ACK read), the same clock for both sides.
import { Sim, textMessage } from '../lib/sim.mjs';
import { sleep, summary, waitFor } from '../lib/stats.mjs';
import { SIDES } from './sides.mjs';

const SENDERS = 50;

async function burst({ binDir, start, size }) {
  const sim = await Sim.start(binDir);
  const side = await start(binDir, sim);
  try {
    // Warm-up: first connections, first SQLite pages, JIT of the peer.
    await sim.injectMany(50, (n) => textMessage(n, SENDERS, `warm-up ${n}`));
    await waitFor(async () => (await sim.stats()).acks_received >= 50, { timeoutMs: 30_000 });
    const skip = (await sim.ackLatenciesMs()).length;
    await sim.injectMany(size, (n) => textMessage(n, SENDERS), 64);
    const done = await waitFor(async () => (await sim.stats()).acks_received >= 50 + size, { timeoutMs: 120_000 });
    if (!done) throw new Error(`${side.name}: burst not ACKed within 120 s`);
    const stats = await sim.stats();
    return { ...summary((await sim.ackLatenciesMs()).slice(skip)), redeliveries: stats.redeliveries };
  } finally {
    await side.stop();
    await sim.stop();
  }
}

/**
 * Ingest ceiling: the simulator is kept topped up with a backlog of `LOW`..`HIGH` unACKed messages, so the client
 * is never waiting for input, and the figure is ACKs per second over `seconds`. The backlog is small because the
 * simulator's delivery pump walks its pending list on every injection. `dry` counts the samples at which the
 * backlog had run out: then the figure is the injector's limit, not the client's.
 */
const LOW = 500;
const HIGH = 1_500;

async function ceiling({ binDir, start, seconds }) {
  const sim = await Sim.start(binDir);
  await sim.injectMany(HIGH, (n) => textMessage(n, SENDERS), 32);
  const side = await start(binDir, sim);
  try {
    let topping = true;
    let injected = HIGH;
    const topUp = (async () => {
      while (topping) {
        const { pending_unacked } = await sim.stats();
        if (pending_unacked < LOW) {
          const count = HIGH - pending_unacked;
          const base = injected;
          injected += count;
          await sim.injectMany(count, (n) => textMessage(base + n, SENDERS), 32);
        } else {
          await sleep(2);
        }
      }
    })();
    const first = await waitFor(async () => {
      const s = await sim.stats();
      return s.acks_received > 0 ? s : null;
    }, { timeoutMs: 30_000, everyMs: 5 });
    const t0 = Date.now();
    let last = first;
    let samples = 0;
    let dry = 0;
    while (Date.now() - t0 < seconds * 1000) {
      await sleep(100);
      last = await sim.stats();
      samples += 1;
      if (last.pending_unacked === 0) dry += 1;
    }
    const elapsed = (Date.now() - t0) / 1000;
    topping = false;
    await topUp;
    return { perSec: (last.acks_received - first.acks_received) / elapsed, seconds: elapsed, dryShare: dry / samples };
  } finally {
    await side.stop();
    await sim.stop();
  }
}

function dryNote(ours, peer) {
  const pct = (r) => `${(r.ceiling.dryShare * 100).toFixed(0)} %`;
  return `simulator backlog ran dry in ${pct(ours)} / ${pct(peer)} of samples; dry = bound by the injector`;
}

export async function run({ binDir, smoke, log }) {
  const size = smoke ? 200 : 1_000;
  const results = {};
  for (const [key, start] of SIDES) {
    results[key] = {
      burst: await burst({ binDir, start, size }),
      ceiling: await ceiling({ binDir, start, seconds: smoke ? 2 : 30 }),
    };
    const r = results[key];
    log(`#1 ${key}: p50 ${r.burst.p50.toFixed(2)} p99 ${r.burst.p99.toFixed(2)} max ${r.burst.max.toFixed(2)} ms; ` +
      `#2 ${r.ceiling.perSec.toFixed(0)} msg/s over ${r.ceiling.seconds.toFixed(1)} s (backlog dry in ${(r.ceiling.dryShare * 100).toFixed(0)} % of samples)`);
  }
  const { ours, peer } = results;
  const rows = [
    { bench: 1, what: `frame → ACK p50, ${size}-message burst`, unit: 'ms', ours: ours.burst.p50, peer: peer.burst.p50, lowerIsBetter: true },
    { bench: 1, what: `frame → ACK p99, ${size}-message burst`, unit: 'ms', ours: ours.burst.p99, peer: peer.burst.p99, lowerIsBetter: true,
      target: 'p99 ≤ peer', met: ours.burst.p99 <= peer.burst.p99 },
    { bench: 1, what: `frame → ACK max, ${size}-message burst`, unit: 'ms', ours: ours.burst.max, peer: peer.burst.max, lowerIsBetter: true },
    { bench: 2, what: `ingest ceiling, ACKed msg/s (${ours.ceiling.seconds.toFixed(0)} s / ${peer.ceiling.seconds.toFixed(0)} s)`, unit: '/s',
      ours: ours.ceiling.perSec, peer: peer.ceiling.perSec, lowerIsBetter: false, target: '≥ 3× peer', met: ours.ceiling.perSec >= 3 * peer.ceiling.perSec,
      note: dryNote(ours, peer) },
  ];
  const guards = [
    { name: 'every burst message ACKed without redelivery (both sides)', ok: ours.burst.redeliveries === 0 && peer.burst.redeliveries === 0, value: ours.burst.redeliveries },
  ];
  return { rows, guards, raw: results };
}

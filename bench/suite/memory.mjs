// #6 headless memory: `dingbridged serve` RSS when idle (connected, nothing to do), then while N distinct msgIds
// flow through the intake (each persisted and ACKed). The senders are not allow-listed, so the agent and the
// reply pacing stay out of the figure: what is measured is whether intake state (dedup of msgIds, caches,
// queues) stays bounded. RSS is sampled after each tenth of the messages.
import { Sim, textMessage } from '../lib/sim.mjs';
import { sleep } from '../lib/stats.mjs';
import { startOurs } from './sides.mjs';

const SENDERS = 500;
const IDLE_SETTLE_MS = 3_000;

export async function run({ binDir, smoke, log }) {
  // 1,000,000 takes ~8 min at ~2,000 msg/s (each one fsynced), too long for the 15-minute budget; the intake's
  // caches reach their caps early (the dedupe window holds 10,000 msgIds), so 300,000 shows the plateau.
  const total = smoke ? 5_000 : Number(process.env.BENCH_MSGIDS ?? 300_000);
  const sim = await Sim.start(binDir);
  const side = await startOurs(binDir, sim, { overrides: { access: { allowed_staff_ids: ['bench-nobody'] } } });
  const samples = [];
  let idle;
  try {
    await sleep(smoke ? 500 : IDLE_SETTLE_MS);
    idle = side.bridge.rssKib() / 1024;
    const started = Date.now();
    await sim.feed({
      total,
      make: (n) => textMessage(n, SENDERS, `m ${n}`),
      every: Math.ceil(total / 10),
      onMark: (acked) => samples.push({ messages: acked, rssMib: side.bridge.rssKib() / 1024 }),
      timeoutMs: 900_000,
    });
    log(`#6 idle ${idle.toFixed(1)} MiB; after ${total} msgIds ${samples.at(-1).rssMib.toFixed(1)} MiB ` +
      `(${((Date.now() - started) / 1000).toFixed(0)} s; samples ${samples.map((s) => s.rssMib.toFixed(0)).join(' ')})`);
  } finally {
    await side.stop();
    await sim.stop();
  }
  const last = samples.at(-1).rssMib;
  const peak = Math.max(...samples.map((s) => s.rssMib));
  // Bounded: over the second half of the run the RSS grows by less than 5 % (caches have reached their caps).
  const half = samples[Math.floor(samples.length / 2) - 1].rssMib;
  const flat = last <= half * 1.05;
  const rows = [
    { bench: 6, what: 'headless idle RSS (`dingbridged serve`, connected)', unit: 'MiB', ours: idle, lowerIsBetter: true,
      target: '< 25 MB', met: idle * 1.048576 < 25 },
    { bench: 6, what: `RSS after ${total.toLocaleString('en')} distinct msgIds`,
      unit: 'MiB', ours: last, lowerIsBetter: true, target: 'flat, bounded', met: flat,
      note: `by tenths: ${samples.map((x) => x.rssMib.toFixed(0)).join(', ')} MiB; peak ${peak.toFixed(1)}` },
  ];
  return { rows, guards: [], raw: { idle, samples } };
}

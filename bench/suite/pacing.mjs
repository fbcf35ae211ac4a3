// #7 pacing: a backlog of replies to one group against DingTalk's per-group limit (20 per rolling minute).
// The simulator's rolling window is shortened (`--rate-window-ms`) and DingBridge's `conversation_window_ms`
// set to the same value, so the run takes seconds instead of 10 minutes; every other pacing setting is the
// shipped default (but in the smoke form, whose 1 s window makes 52 ms slots: there 10 % keeps a loaded CI machine's
// jitter from tripping the throttle guard). Achieved rate = replies after the first / time from first to last, as the simulator saw them.
import { Sim } from '../lib/sim.mjs';
import { waitFor } from '../lib/stats.mjs';
import { startOurs } from './sides.mjs';

const LIMIT = 20;
const GROUP = 'cidBenchPacingGroup0000000000==';

export async function run({ binDir, smoke, log }) {
  const replies = smoke ? 30 : 200;
  const windowMs = smoke ? 1_000 : 4_000;
  const sim = await Sim.start(binDir, ['--rate-window-ms', String(windowMs)]);
  const pacing = smoke ? { conversation_window_ms: windowMs, safety_margin_percent: 10 } : { conversation_window_ms: windowMs };
  const side = await startOurs(binDir, sim, { overrides: { pacing } });
  let received;
  let stats;
  try {
    for (let n = 0; n < replies; n++) {
      await sim.inject({
        conversation_id: GROUP,
        conversation_type: 'group',
        conversation_title: 'Bench pacing group',
        sender_staff_id: 'pacer',
        sender_nick: 'Pacer',
        content: { text: `reply please ${n}` },
      });
    }
    const budgetMs = (replies / LIMIT) * windowMs * 2 + 30_000;
    received = await waitFor(async () => {
      const list = await sim.received(GROUP);
      return list.length >= replies ? list : null;
    }, { timeoutMs: budgetMs, everyMs: 100 });
    stats = await sim.stats();
    if (!received) throw new Error(`pacing: not all ${replies} replies arrived within ${budgetMs} ms`);
  } finally {
    await side.stop();
    await sim.stop();
  }
  const times = received.map((m) => m.at_ms).sort((a, b) => a - b);
  const achievedPerWindow = ((times.length - 1) / (times.at(-1) - times[0])) * windowMs;
  const share = achievedPerWindow / LIMIT;
  const throttled = stats.webhook_rejected;
  log(`#7 ${replies} replies: ${achievedPerWindow.toFixed(2)} per window of ${windowMs} ms (${(share * 100).toFixed(1)} %), ${throttled} throttled`);
  const rows = [
    { bench: 7, what: `pacing: ${replies} replies to one group, share of the allowed 20/window`, unit: '%', ours: share * 100,
      lowerIsBetter: false, target: '≥ 95 %', met: share >= 0.95, note: `window scaled to ${windowMs} ms` },
    { bench: 7, what: 'pacing: throttle errors from DingTalk', unit: '', ours: throttled, lowerIsBetter: true,
      target: '0', met: throttled === 0 },
  ];
  return { rows, guards: [{ name: 'pacing run has no throttle errors', ok: throttled === 0, value: throttled }] };
}

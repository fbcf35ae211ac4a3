// #3 bridge overhead (frame in → agent prompt; agent reply → DingTalk send), measured inside one process by
// crates/core/benches/bridge_overhead.rs (it needs a stand-in agent that stamps the moment it is called),
// built by scripts/bench and passed in as --overhead-bin.
// No peer: the Node SDK has no bridge.
import { execFileSync } from 'node:child_process';

export async function run({ overheadBin, smoke, log }) {
  if (!overheadBin) throw new Error('--overhead-bin (the bridge_overhead bench executable) is required for #3');
  const out = execFileSync(overheadBin, ['--json', ...(smoke ? ['--smoke'] : [])], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, DINGBRIDGE_LOG: 'warn' },
  });
  const r = JSON.parse(out.trim().split('\n').at(-1));
  const ms = (usValue) => usValue / 1000;
  log(`#3 in p50 ${r.in_p50_us} µs p99 ${r.in_p99_us} µs; out p50 ${r.out_p50_us} µs p99 ${r.out_p99_us} µs; ACK p50 ${r.ack_p50_us} µs`);
  const rows = [
    { bench: 3, what: `bridge overhead in: frame → agent prompt, p50 (${r.runs} single messages)`, unit: 'ms', ours: ms(r.in_p50_us), lowerIsBetter: true },
    { bench: 3, what: 'bridge overhead in: frame → agent prompt, p99', unit: 'ms', ours: ms(r.in_p99_us), lowerIsBetter: true,
      target: '< 1 ms', met: r.in_p99_us < 1000, note: `of which frame → ACK (durable write) p99 ${ms(r.ack_p99_us).toFixed(3)} ms` },
    { bench: 3, what: 'bridge overhead out: agent reply → DingTalk send, p50', unit: 'ms', ours: ms(r.out_p50_us), lowerIsBetter: true },
    { bench: 3, what: 'bridge overhead out: agent reply → DingTalk send, p99', unit: 'ms', ours: ms(r.out_p99_us), lowerIsBetter: true,
      target: '< 1 ms', met: r.out_p99_us < 1000 },
  ];
  return { rows, guards: [] };
}

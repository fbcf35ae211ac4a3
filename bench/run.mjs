#!/usr/bin/env node
// Runs the side-by-side benchmarks (docs/performance.md) and prints the results table. Called by scripts/bench.
//
//   node bench/run.mjs --bin-dir target/release --overhead-bin <bridge_overhead bench executable>
//       [--smoke] [--only 1,4] [--write-doc docs/performance.md]
//
// --smoke: a few seconds per benchmark, exits non-zero when a guard fails (the MCP p50 at concurrency 1 shows a
// Nagle stall, a burst needed redelivery, pacing got throttled) or a benchmark cannot run. Without --smoke the
// table is written between the markers of the doc given with --write-doc.
import { parseArgs } from 'node:util';

import { renderReport, writeReport } from './report.mjs';
import * as dashboard from './suite/dashboard.mjs';
import * as desktop from './suite/desktop.mjs';
import * as helper from './suite/helper.mjs';
import * as mcp from './suite/mcp.mjs';
import * as overhead from './suite/overhead.mjs';
import * as memory from './suite/memory.mjs';
import * as pacing from './suite/pacing.mjs';
import * as stream from './suite/stream.mjs';

const SUITE = [
  ['1,2', stream],
  ['3', overhead],
  ['4', mcp],
  ['5', helper],
  ['6', memory],
  ['6', desktop],
  ['7', pacing],
  ['8', dashboard],
];

const { values } = parseArgs({
  options: {
    'bin-dir': { type: 'string' },
    'overhead-bin': { type: 'string' },
    smoke: { type: 'boolean', default: false },
    only: { type: 'string' },
    'write-doc': { type: 'string' },
    command: { type: 'string', default: 'scripts/bench' },
    profile: { type: 'string', default: 'release' },
  },
});
if (!values['bin-dir']) throw new Error('--bin-dir is required');
const only = values.only ? values.only.split(',') : null;
const log = (line) => process.stderr.write(`[bench] ${line}\n`);

const rows = [];
const guards = [];
const failures = [];
const startedAt = new Date();
for (const [ids, suite] of SUITE) {
  if (only && !ids.split(',').some((id) => only.includes(id))) continue;
  const t0 = Date.now();
  try {
    const result = await suite.run({ binDir: values['bin-dir'], overheadBin: values['overhead-bin'], smoke: values.smoke, log });
    rows.push(...result.rows);
    guards.push(...result.guards);
  } catch (error) {
    failures.push(`#${ids}: ${error.stack ?? error}`);
    log(`#${ids} FAILED: ${error.stack ?? error}`);
  }
  log(`#${ids} took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

const report = renderReport({ rows, startedAt, command: values.command, profile: values.profile, smoke: values.smoke, failures });
process.stdout.write(`${report}\n`);
for (const guard of guards) log(`${guard.ok ? 'ok  ' : 'FAIL'} ${guard.name} (${guard.value})`);
if (values['write-doc'] && !values.smoke && !only) {
  writeReport(values['write-doc'], report);
  log(`table written to ${values['write-doc']}`);
}
const failedGuards = guards.filter((g) => !g.ok);
if (failures.length > 0 || (values.smoke && failedGuards.length > 0)) {
  log(`${failures.length} benchmark(s) failed to run, ${failedGuards.length} guard(s) failed`);
  process.exit(1);
}

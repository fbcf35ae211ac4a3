// The results table of a run, as Markdown, and its place in docs/performance.md: everything between the
// BEGIN/END markers is generated; the rest of the page (analysis, history) is written by hand.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';

export const BEGIN = '<!-- BEGIN GENERATED: scripts/bench -->';
export const END = '<!-- END GENERATED: scripts/bench -->';

function quiet(cmd, args) {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

function packageVersion(name) {
  try {
    const path = join(import.meta.dirname, 'node_modules', name, 'package.json');
    return JSON.parse(readFileSync(path, 'utf8')).version.replace(/^v/, '');
  } catch {
    return 'not installed';
  }
}

function machine() {
  const cpus = os.cpus();
  let distro = 'unknown';
  try {
    const release = readFileSync('/etc/os-release', 'utf8');
    distro = /^PRETTY_NAME="?([^"\n]*)/m.exec(release)?.[1] ?? distro;
  } catch {
    // Not Linux.
  }
  return `${cpus.length} × ${cpus[0]?.model ?? 'CPU'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${distro}, Linux ${os.release()}`;
}

function number(value, unit) {
  if (value === null || value === undefined || Number.isNaN(value)) return '—';
  const digits = unit === 'ms' && value < 10 ? 3 : value < 100 ? 1 : 0;
  return `${value.toLocaleString('en', { maximumFractionDigits: digits, minimumFractionDigits: digits })}${unit === '%' ? ' %' : ''}`;
}

/** "ours is N× better" (>1 = DingBridge ahead), whichever direction is better for the metric. */
function ratio(row) {
  if (row.peer === undefined || row.peer === null || !row.ours || !row.peer) return '—';
  const r = row.lowerIsBetter ? row.peer / row.ours : row.ours / row.peer;
  return `${r.toFixed(r < 10 ? 2 : 0)}×`;
}

function verdict(row) {
  if (row.met === true) return 'met';
  if (row.met === false) return '**missed**';
  return '';
}

export function renderReport({ rows, startedAt, command, profile, smoke, failures }) {
  const lines = [
    BEGIN,
    '',
    `Run of \`${command}\` on ${startedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC${smoke ? ' (smoke form: short runs, figures not comparable)' : ''}.`,
    `Machine: ${machine()}. Build: ${profile}, commit ${quiet('git', ['rev-parse', '--short', 'HEAD'])}, ` +
      `${quiet('rustc', ['--version'])}. Peers: Node ${process.versions.node}, dingtalk-stream ${packageVersion('dingtalk-stream')}, ` +
      `@modelcontextprotocol/sdk ${packageVersion('@modelcontextprotocol/sdk')}.`,
    'Ratio: how many times better DingBridge is than the peer (above 1 = DingBridge ahead), whichever direction is better.',
    '',
    '| # | measure | DingBridge | peer | ratio | target | |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const row of rows) {
    const unit = row.unit && row.unit !== '%' ? ` ${row.unit}` : '';
    const note = row.note ? ` (${row.note})` : '';
    lines.push(
      `| ${row.bench} | ${row.what}${unit ? ',' + unit : ''}${note} | ${number(row.ours, row.unit)} | ${number(row.peer, row.unit)} | ${ratio(row)} | ${row.target ?? ''} | ${verdict(row)} |`,
    );
  }
  for (const failure of failures) lines.push('', `Failed to run: ${failure.split('\n')[0]}`);
  lines.push('', END);
  return lines.join('\n');
}

export function writeReport(path, report) {
  const page = readFileSync(path, 'utf8');
  const begin = page.indexOf(BEGIN);
  const end = page.indexOf(END);
  if (begin < 0 || end < begin) throw new Error(`${path} has no ${BEGIN} … ${END} section`);
  writeFileSync(path, page.slice(0, begin) + report + page.slice(end + END.length));
}

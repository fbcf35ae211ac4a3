// Child processes for the benchmarks: start one, wait for its `KEY=value` announcement on stdout,
// measure its memory (the whole process tree, so `npx` → shell → node counts in full), stop it.
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { createInterface } from 'node:readline';

/** Spawns `cmd args` and resolves once stdout printed `KEY=...`; returns { child, value }. */
export function startAnnouncing(cmd, args, key, { env = {}, cwd, timeoutMs = 20_000 } = {}) {
  const child = spawn(cmd, args, {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${cmd} did not print ${key}= within ${timeoutMs} ms; stderr: ${stderr}`));
    }, timeoutMs);
    const lines = createInterface({ input: child.stdout });
    const values = {};
    lines.on('line', (line) => {
      const eq = line.indexOf('=');
      if (eq > 0) values[line.slice(0, eq)] = line.slice(eq + 1);
      if (line.startsWith(`${key}=`)) {
        clearTimeout(timer);
        resolve({ child, value: line.slice(key.length + 1), values, stderr: () => stderr });
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${cmd} exited (${code}) before printing ${key}=; stderr: ${stderr}`));
    });
  });
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
export function stop(child, graceMs = 3000) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

function statusField(pid, name) {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8')
      .split('\n')
      .find((l) => l.startsWith(name));
    return line ? Number(line.split(/\s+/)[1]) : 0;
  } catch {
    return 0;
  }
}

function childrenOf(pid) {
  const kids = [];
  for (const entry of readdirSync(`/proc/${pid}/task`, { withFileTypes: true })) {
    try {
      const text = readFileSync(`/proc/${pid}/task/${entry.name}/children`, 'utf8').trim();
      if (text) kids.push(...text.split(/\s+/).map(Number));
    } catch {
      // The task ended meanwhile.
    }
  }
  return kids;
}

/** Every pid of the tree rooted at `pid`. */
export function processTree(pid) {
  const all = [];
  const queue = [pid];
  while (queue.length > 0) {
    const next = queue.shift();
    all.push(next);
    try {
      queue.push(...childrenOf(next));
    } catch {
      // Gone.
    }
  }
  return all;
}

/** Resident set size of the whole tree in KiB (VmRSS summed). */
export function treeRssKib(pid) {
  return processTree(pid).reduce((sum, p) => sum + statusField(p, 'VmRSS:'), 0);
}

/** Proportional set size of the whole tree in KiB (smaps_rollup; shared pages split between sharers). */
export function treePssKib(pid) {
  let total = 0;
  for (const p of processTree(pid)) {
    try {
      const line = readFileSync(`/proc/${p}/smaps_rollup`, 'utf8')
        .split('\n')
        .find((l) => l.startsWith('Pss:'));
      total += line ? Number(line.split(/\s+/)[1]) : 0;
    } catch {
      // Gone.
    }
  }
  return total;
}

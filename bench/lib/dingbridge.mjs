// DingBridge's side of every pair: the real `dingbridged serve` binary, connected to the benchmark's simulator
// with the echo agent, its own temporary data dir and settings file, a fixed MCP token, logs at `warn`.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { request } from './http.mjs';
import { startAnnouncing, stop, treeRssKib } from './proc.mjs';
import { CLIENT_ID, CLIENT_SECRET } from './sim.mjs';
import { waitFor } from './stats.mjs';

export const MCP_TOKEN = 'bench-token-0123456789abcdef';

function toml(value) {
  return JSON.stringify(value);
}

/** The settings file: `overrides` maps section → { key: value } on top of the bench defaults. */
function settings(simBase, overrides) {
  const sections = {
    dingtalk: { client_id: CLIENT_ID, api_base: simBase, oapi_base: simBase },
    agent: { backend: 'echo' },
    access: { allowed_staff_ids: ['*'], allowed_groups: ['*'] },
    ...overrides,
  };
  return Object.entries(sections)
    .map(([name, entries]) => `[${name}]\n${Object.entries(entries).map(([k, v]) => `${k} = ${toml(v)}`).join('\n')}\n`)
    .join('\n');
}

export class DingBridge {
  /**
   * Starts `dingbridged serve` and waits until the simulator sees its Stream connection. `binary` is a name in
   * `binDir` or an absolute path (e.g. a build of an older commit for a before/after figure).
   */
  static async start(binDir, sim, { overrides = {}, echoDelayMs = 0, binary = 'dingbridged' } = {}) {
    const dir = mkdtempSync(join(tmpdir(), 'dingbridge-bench-'));
    const configPath = join(dir, 'settings.toml');
    writeFileSync(configPath, settings(sim.baseUrl, overrides));
    const before = (await sim.stats()).live_connections;
    const { child, values } = await startAnnouncing(
      binary.startsWith('/') ? binary : join(binDir, binary),
      ['--config', configPath, '--data-dir', join(dir, 'data'), '--port', '0', '--mcp-port', '0',
        '--echo-delay-ms', String(echoDelayMs), 'serve'],
      'DINGBRIDGE_MCP_URL',
      {
        env: {
          DINGTALK_CLIENT_SECRET: CLIENT_SECRET,
          DINGBRIDGE_TOKEN: MCP_TOKEN,
          DINGBRIDGE_LOG: 'warn',
          DINGBRIDGE_RUNTIME_FILE: join(dir, 'runtime.json'),
        },
        // Start-up opens and migrates SQLite with fsyncs: on a busy disk that has taken over 20 s.
        timeoutMs: 60_000,
      },
    );
    const connected = await waitFor(async () => (await sim.stats()).live_connections > before, { timeoutMs: 20_000 });
    if (!connected) {
      await stop(child);
      throw new Error('dingbridged did not connect to the simulator within 20 s');
    }
    return new DingBridge(child, dir, values);
  }

  constructor(child, dir, values) {
    this.child = child;
    this.dir = dir;
    this.mcpUrl = values.DINGBRIDGE_MCP_URL;
    // dingbridged prints a one-time login URL; the dashboard itself is its origin.
    this.loginUrl = values.DINGBRIDGE_DASHBOARD_URL;
    this.dashboardUrl = this.loginUrl ? `${new URL(this.loginUrl).origin}/` : undefined;
    this.cookie = undefined;
  }

  /** Exchanges the one-time login URL for the dashboard cookie (once); returns headers that carry it. */
  async dashboardHeaders() {
    if (!this.cookie) {
      const res = await request(this.loginUrl);
      const setCookie = res.headers['set-cookie'];
      if (!setCookie?.length) throw new Error(`login at the dashboard gave no cookie (HTTP ${res.status})`);
      this.cookie = setCookie.map((line) => line.split(';')[0]).join('; ');
    }
    return { cookie: this.cookie };
  }

  rssKib() {
    return treeRssKib(this.child.pid);
  }

  async stop() {
    await stop(this.child, 5000);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

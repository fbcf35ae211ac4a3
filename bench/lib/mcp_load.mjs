// The one MCP load client for both sides of benchmark #4: a Streamable HTTP session (initialize, then
// `tools/call` in a loop) on kept-alive connections, `concurrency` requests in flight, as OpenCode's client
// keeps its connection. Every answer is read to its end and must carry a JSON-RPC `result`.
import { request, keepAliveAgent } from './http.mjs';
import { summary } from './stats.mjs';

const PROTOCOL = '2025-11-25';

function headers(token, session) {
  const h = {
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    'mcp-protocol-version': PROTOCOL,
  };
  if (token) h.authorization = `Bearer ${token}`;
  if (session) h['mcp-session-id'] = session;
  return h;
}

/** The JSON-RPC message with `id` out of a JSON or SSE answer body. */
function answerWithId(body, id) {
  const text = body.toString('utf8');
  const candidates = text.trimStart().startsWith('{')
    ? [text]
    : text
        .split('\n')
        .filter((l) => l.startsWith('data:'))
        .map((l) => l.slice(5).trim());
  for (const candidate of candidates) {
    try {
      const message = JSON.parse(candidate);
      if (message.id === id) return message;
    } catch {
      // Keep-alive comments, priming events.
    }
  }
  return undefined;
}

export class McpSession {
  static async open(url, token, agent) {
    const init = {
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: { protocolVersion: PROTOCOL, capabilities: {}, clientInfo: { name: 'dingbridge-bench', version: '1' } },
    };
    const res = await request(url, { method: 'POST', headers: headers(token), body: JSON.stringify(init), agent });
    const answer = answerWithId(res.body, 0);
    if (res.status !== 200 || !answer?.result) {
      throw new Error(`initialize at ${url}: HTTP ${res.status} ${res.body.toString('utf8').slice(0, 300)}`);
    }
    const session = res.headers['mcp-session-id'];
    const note = JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' });
    await request(url, { method: 'POST', headers: headers(token, session), body: note, agent });
    return new McpSession(url, token, session, agent);
  }

  constructor(url, token, session, agent) {
    this.url = url;
    this.token = token;
    this.session = session;
    this.agent = agent;
    this.nextId = 1;
  }

  /** One `tools/call`; resolves its latency in ms, throws unless the answer is a successful result. */
  async call(tool, args = {}) {
    const id = this.nextId++;
    const body = JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: tool, arguments: args } });
    const started = process.hrtime.bigint();
    const res = await request(this.url, {
      method: 'POST',
      headers: headers(this.token, this.session),
      body,
      agent: this.agent,
    });
    const elapsed = Number(process.hrtime.bigint() - started) / 1e6;
    const answer = answerWithId(res.body, id);
    if (res.status !== 200 || !answer?.result || answer.result.isError) {
      throw new Error(`tools/call ${tool}: HTTP ${res.status} ${res.body.toString('utf8').slice(0, 300)}`);
    }
    return elapsed;
  }
}

/**
 * Warms up, then runs `concurrency` callers for `seconds`; returns { concurrency, calls, callsPerSec, p50, p99, max }
 * with latencies in ms. One keep-alive socket per caller.
 */
export async function runMcpLoad({ url, token, tool = 'get_stats', concurrency, seconds, warmup = 100 }) {
  const agent = keepAliveAgent(concurrency);
  const session = await McpSession.open(url, token, agent);
  for (let i = 0; i < warmup; i++) await session.call(tool);
  const latencies = [];
  const started = Date.now();
  const deadline = started + seconds * 1000;
  const caller = async () => {
    while (Date.now() < deadline) latencies.push(await session.call(tool));
  };
  await Promise.all(Array.from({ length: concurrency }, caller));
  const wallSec = (Date.now() - started) / 1000;
  agent.destroy();
  const s = summary(latencies);
  return { concurrency, calls: s.count, callsPerSec: s.count / wallSec, p50: s.p50, p99: s.p99, max: s.max };
}

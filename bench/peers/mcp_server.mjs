#!/usr/bin/env node
// The MCP peer: a minimal server on the official TypeScript SDK (@modelcontextprotocol/sdk) with one trivial
// read-only tool, `get_stats`, over Streamable HTTP (sessions, SSE answers: the SDK's defaults, as DingBridge's
// server answers) or, with `--stdio`, over stdio. HTTP mode prints `MCP_PEER_URL=http://127.0.0.1:PORT/mcp`.
import { randomUUID } from 'node:crypto';
import http from 'node:http';

import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';

const started = Date.now();

function makeServer() {
  const server = new McpServer({ name: 'bench-peer', version: '1.0.0' });
  server.registerTool(
    'get_stats',
    { description: 'Trivial status tool', annotations: { readOnlyHint: true } },
    async () => ({
      content: [{ type: 'text', text: JSON.stringify({ uptime_ms: Date.now() - started, connected: true }) }],
    }),
  );
  return server;
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

async function serveHttp() {
  const sessions = new Map();
  const httpServer = http.createServer(async (req, res) => {
    try {
      const text = req.method === 'POST' ? await readBody(req) : '';
      const body = text ? JSON.parse(text) : undefined;
      const id = req.headers['mcp-session-id'];
      let transport = typeof id === 'string' ? sessions.get(id) : undefined;
      if (!transport && req.method === 'POST' && isInitializeRequest(body)) {
        transport = new StreamableHTTPServerTransport({
          sessionIdGenerator: () => randomUUID(),
          onsessioninitialized: (sid) => sessions.set(sid, transport),
        });
        transport.onclose = () => transport.sessionId && sessions.delete(transport.sessionId);
        await makeServer().connect(transport);
      }
      if (!transport) {
        res.writeHead(404).end();
        return;
      }
      await transport.handleRequest(req, res, body);
    } catch (error) {
      if (!res.headersSent) res.writeHead(500).end(String(error));
    }
  });
  httpServer.listen(0, '127.0.0.1', () => {
    const { port } = httpServer.address();
    process.stdout.write(`MCP_PEER_URL=http://127.0.0.1:${port}/mcp\n`);
  });
  process.on('SIGTERM', () => process.exit(0));
}

if (process.argv.includes('--stdio')) {
  await makeServer().connect(new StdioServerTransport());
} else {
  await serveHttp();
}

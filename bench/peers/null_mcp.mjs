#!/usr/bin/env node
// Calibration for benchmark #4: not an MCP server, just canned Streamable HTTP answers (an SSE event with a
// JSON-RPC result for every request with an id, 202 for notifications). What the load client measures against
// it is the client's own floor: no server can look faster than this through the same client.
import http from 'node:http';

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    let id = null;
    try {
      id = JSON.parse(Buffer.concat(chunks).toString('utf8')).id ?? null;
    } catch {
      // Not JSON: answered like a notification.
    }
    if (id === null) {
      res.writeHead(202).end();
      return;
    }
    const result = id === 0 ? { protocolVersion: '2025-11-25', capabilities: {}, serverInfo: { name: 'null', version: '0' } }
      : { content: [{ type: 'text', text: '{}' }] };
    res.writeHead(200, { 'content-type': 'text/event-stream', 'mcp-session-id': 'null-session' });
    res.end(`event: message\ndata: ${JSON.stringify({ jsonrpc: '2.0', id, result })}\n\n`);
  });
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`MCP_PEER_URL=http://127.0.0.1:${server.address().port}/mcp\n`));
process.on('SIGTERM', () => process.exit(0));

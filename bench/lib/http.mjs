// A minimal JSON-over-HTTP client on keep-alive connections (node:http; no extra dependency).
import http from 'node:http';

export function keepAliveAgent(maxSockets) {
  return new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
}

const defaultAgent = keepAliveAgent(16);

/** One request; resolves { status, headers, body: Buffer }. */
export function request(url, { method = 'GET', headers = {}, body, agent = defaultAgent } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent }, (res) => {
      const chunks = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (body !== undefined) req.end(body);
    else req.end();
  });
}

export async function getJson(url, options = {}) {
  const res = await request(url, options);
  if (res.status !== 200) throw new Error(`GET ${url}: HTTP ${res.status} ${res.body}`);
  return JSON.parse(res.body.toString('utf8'));
}

export async function postJson(url, value, options = {}) {
  const body = JSON.stringify(value);
  const res = await request(url, {
    ...options,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(options.headers ?? {}) },
    body,
  });
  if (res.status !== 200) throw new Error(`POST ${url}: HTTP ${res.status} ${res.body}`);
  return JSON.parse(res.body.toString('utf8'));
}

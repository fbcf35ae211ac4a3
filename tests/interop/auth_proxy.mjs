// A loopback reverse proxy that adds `Authorization: Bearer $DINGBRIDGE_TOKEN` and forwards everything
// else untouched (Host, Origin, bodies, SSE streams). The conformance suite has no option for headers, so it
// talks to DingBridge's real, token-protected server through this.
// usage: node auth_proxy.mjs <listen-port> <target-port>   (prints READY when listening)
import http from 'node:http';

const [listenPort, targetPort] = process.argv.slice(2).map(Number);
const token = process.env.DINGBRIDGE_TOKEN ?? '';

http
  .createServer((req, res) => {
    const headers = { ...req.headers, authorization: `Bearer ${token}` };
    const upstream = http.request(
      { host: '127.0.0.1', port: targetPort, method: req.method, path: req.url, headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', (err) => {
      res.writeHead(502);
      res.end(String(err));
    });
    req.pipe(upstream);
  })
  .listen(listenPort, '127.0.0.1', () => console.log('READY'));

// A header-injecting reverse proxy for the MCP conformance suite, whose client cannot send
// an Authorization header. It adds `Authorization: Bearer $PROXY_TOKEN` to every request
// and forwards everything else unchanged (Host and Origin included, so the server's own
// DNS-rebinding checks still see what the client sent). Responses, SSE included, stream
// through. Prints "proxy listening on http://127.0.0.1:PORT" once ready.
import http from 'node:http';

const upstream = new URL(process.env.UPSTREAM);
const token = process.env.PROXY_TOKEN;
if (!token) {
  console.error('PROXY_TOKEN is required');
  process.exit(2);
}

const server = http.createServer((req, res) => {
  const headers = { ...req.headers, authorization: `Bearer ${token}` };
  const up = http.request(
    { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers },
    (r) => {
      res.writeHead(r.statusCode, r.headers);
      r.pipe(res);
    },
  );
  up.on('error', (e) => {
    if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
    res.end(`proxy: ${e.message}`);
  });
  res.on('close', () => up.destroy());
  req.pipe(up);
});
server.listen(0, '127.0.0.1', () => {
  console.log(`proxy listening on http://127.0.0.1:${server.address().port}`);
});

// The local target server of the benchmark, run as its own child process by bench/run.js.
//
//   POST /sink          reads and discards the body, answers {"bytes":<count>}
//   POST <any path>     reads the body, answers {"ok":true}
//   GET  /big?bytes=N   streams N bytes (Content-Length: N)
//   GET  <other>        answers {"ok":true}
//
// Listens on 127.0.0.1, port 0 (or argv[2]); prints {"type":"listening","port":N} on stdout once listening.
// Exits on SIGTERM/SIGINT, or when its parent goes away (stdin closes).
import { createServer } from 'node:http';

const MAX_BIG = 1024 * 1024 * 1024; // 1 GiB: bounds what one GET /big may ask for
const CHUNK = Buffer.alloc(64 * 1024, 0x61);
const OK = Buffer.from('{"ok":true}');

function streamBytes(res, total) {
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(total) });
  let left = total;
  const pump = () => {
    while (left > 0) {
      const n = Math.min(left, CHUNK.length);
      left -= n;
      const more = res.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n));
      if (left === 0) break;
      if (!more) return void res.once('drain', pump);
    }
    res.end();
  };
  res.on('error', () => {});
  pump();
}

const server = createServer({ keepAlive: true }, (req, res) => {
  req.on('error', () => {});
  res.on('error', () => {});
  const q = req.url.indexOf('?');
  const path = q === -1 ? req.url : req.url.slice(0, q);
  if (req.method === 'GET' && path === '/big') {
    const bytes = Number(new URLSearchParams(req.url.slice(q + 1)).get('bytes'));
    if (!Number.isInteger(bytes) || bytes < 0 || bytes > MAX_BIG) {
      res.writeHead(400, { 'content-type': 'application/json' });
      return void res.end('{"error":"bytes must be a whole number up to 1 GiB"}');
    }
    req.resume();
    return streamBytes(res, bytes);
  }
  let bytes = 0;
  req.on('data', (chunk) => (bytes += chunk.length));
  req.on('end', () => {
    if (req.method === 'POST' && path === '/sink') {
      const body = Buffer.from(JSON.stringify({ bytes }));
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(body.length) });
      return void res.end(body);
    }
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(OK.length) });
    res.end(OK);
  });
});
server.keepAliveTimeout = 30_000;

const port = Number(process.argv[2] ?? 0);
server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ type: 'listening', port: server.address().port })}\n`);
});

const stop = () => {
  server.close();
  server.closeAllConnections();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
// The parent holds our stdin open; when it dies without killing us, stdin ends and we leave too.
process.stdin.on('end', stop);
process.stdin.on('error', stop);
process.stdin.resume();

// A reference, not part of hooktunnel: the smallest Node reverse proxy we can write with the same two libraries
// the tunnel's ends are built on (node:http to accept senders, undici's dispatch to reach the target), in one
// process and without a WebSocket. bench/run.js puts wrk through it to show what one Node HTTP hop costs on this
// machine; the tunnel has two such hops (relay and agent) plus the WebSocket between them.
//
//   node bench/floor-proxy.js <target port>
//
// Listens on 127.0.0.1, port 0; prints {"type":"listening","port":N}. Exits on SIGTERM/SIGINT or when stdin ends.
import { createServer } from 'node:http';
import { Pool } from 'undici';

const targetPort = Number(process.argv[2]);
if (!Number.isInteger(targetPort) || targetPort < 1 || targetPort > 65535) {
  process.stderr.write('usage: node bench/floor-proxy.js <target port>\n');
  process.exit(2);
}
const pool = new Pool(`http://127.0.0.1:${targetPort}`, { connections: 128, pipelining: 1 });

const server = createServer({ keepAlive: true }, (req, res) => {
  const headers = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i];
    if (!/^(connection|keep-alive|transfer-encoding|host)$/i.test(name)) headers.push(name, req.rawHeaders[i + 1]);
  }
  const hasBody = req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0';
  pool.dispatch(
    { method: req.method, path: req.url, headers, body: hasBody ? req : null },
    {
      onConnect() {},
      onHeaders(status, raw, resume) {
        res.on('drain', resume);
        const out = [];
        for (let i = 0; i < raw.length; i += 2) {
          const name = raw[i].toString('latin1');
          if (!/^(connection|keep-alive)$/i.test(name)) out.push(name, raw[i + 1].toString('latin1'));
        }
        res.writeHead(status, out);
        return true;
      },
      onData(chunk) {
        // false pauses undici until the sender's socket drains (resume, above).
        return res.write(chunk);
      },
      onComplete() {
        res.end();
      },
      onError() {
        if (res.headersSent) res.destroy();
        else res.writeHead(502).end();
      },
    },
  );
});

function stop() {
  server.close();
  void pool.close();
  process.exit(0);
}
server.listen(0, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ type: 'listening', port: server.address().port })}\n`));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('end', stop);
process.stdin.on('error', stop);
process.stdin.resume();

// Opens many idle tunnels on a relay, speaking the agent handshake with the `ws` package directly, so that the
// relay's memory per idle tunnel can be measured without 10,000 agent processes. bench/lib/idle.js runs a few
// of these side by side.
//
//   node bench/idle-agents.js <relayPort>
//
// Commands on stdin, one per line:
//   open <N>   open connections until N are ready; prints {"type":"open","ready":N,"ms":...} (or {"type":"error",...})
//   close      closes every connection and exits (so does the end of stdin, SIGTERM and SIGINT)
//
// Each connection: ws://127.0.0.1:<port>/_hooktunnel/connect with `x-hooktunnel-protocol: 1`, sends
// {"type":"hello"}, waits for {"type":"ready",...}. ws answers the relay's pings by itself, so the tunnels stay up.
import { createInterface } from 'node:readline';
import WebSocket from 'ws';

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  process.stderr.write('usage: node bench/idle-agents.js <relayPort>\n');
  process.exit(2);
}
const URL_ = `ws://127.0.0.1:${port}/_hooktunnel/connect`;
const MAX_CONNECTIONS = 10_000;
const PARALLEL = 50; // handshakes in progress at once
const HANDSHAKE_TIMEOUT_MS = 10_000;

const sockets = [];
let lost = 0;

function emit(obj) {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

function openOne() {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(URL_, { headers: { 'x-hooktunnel-protocol': '1' }, perMessageDeflate: false });
    let ready = false;
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`no ready within ${HANDSHAKE_TIMEOUT_MS} ms`));
    }, HANDSHAKE_TIMEOUT_MS);
    ws.on('open', () => ws.send(JSON.stringify({ type: 'hello' })));
    ws.on('message', (data, isBinary) => {
      if (ready || isBinary) return;
      let msg;
      try {
        msg = JSON.parse(data.toString('utf8'));
      } catch {
        return;
      }
      if (msg.type === 'ready') {
        ready = true;
        clearTimeout(timer);
        sockets.push(ws);
        resolve(ws);
      } else if (msg.type === 'refused') {
        clearTimeout(timer);
        ws.terminate();
        reject(new Error(`refused: ${msg.code}: ${msg.message}`));
      }
    });
    ws.on('unexpected-response', (_req, res) => {
      clearTimeout(timer);
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => reject(new Error(`HTTP ${res.statusCode} on upgrade: ${body.slice(0, 300)}`)));
    });
    ws.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    ws.on('close', () => {
      if (ready) lost++;
    });
  });
}

async function openUntil(target) {
  const started = Date.now();
  target = Math.min(target, MAX_CONNECTIONS);
  let failure;
  let pending = target - sockets.length;
  const worker = async () => {
    while (pending > 0 && !failure) {
      pending--;
      try {
        await openOne();
      } catch (err) {
        failure = failure ?? err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, Math.max(0, pending)) }, worker));
  if (failure) return emit({ type: 'error', message: String(failure.message ?? failure), ready: sockets.length });
  emit({ type: 'open', ready: sockets.length, lost, ms: Date.now() - started });
}

function closeAll() {
  for (const ws of sockets) ws.terminate();
  process.exit(0);
}

process.on('SIGTERM', closeAll);
process.on('SIGINT', closeAll);
const rl = createInterface({ input: process.stdin });
let queue = Promise.resolve();
rl.on('line', (line) => {
  const [cmd, arg] = line.trim().split(/\s+/);
  if (cmd === 'open') queue = queue.then(() => openUntil(Number(arg)));
  else if (cmd === 'status') queue = queue.then(() => emit({ type: 'status', open: sockets.filter((s) => s.readyState === WebSocket.OPEN).length, lost }));
  else if (cmd === 'close') queue.then(closeAll);
});
rl.on('close', () => void queue.then(closeAll));

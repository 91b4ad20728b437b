process.env.NODE_ENV = 'production';
const { EventEmitter } = await import('node:events');
const React = (await import('react')).default;
const { render } = await import('ink');
const { InspectorApp } = await import('/work/wt-ui/dist/ui/inspector/App.js');
const { InspectorController } = await import('/work/wt-ui/dist/ui/inspector/controller.js');
class Out extends EventEmitter { columns = 80; rows = 24; isTTY = true; bytes = 0; write(s) { this.bytes += s.length; return true; } }
class In extends EventEmitter { isTTY = true; setRawMode() {} setEncoding() {} ref() {} unref() {} read() { return null; } resume() {} pause() {} }
const stdout = new Out();
const c = new InspectorController({ url: 'http://127.0.0.1:7071/t/abc', target: 'http://localhost:3000', relay: 'http://127.0.0.1:7071', embedded: true }, {}, { flushMs: 1e9 });
const ev = new EventEmitter(); c.attach(ev);
let times = [];
const inst = render(React.createElement(InspectorApp, { controller: c }), { stdout, stdin: new In(), stderr: stdout, exitOnCtrlC: false, patchConsole: false, maxFps: 1000, onRender: (m) => times.push(m.renderTime) });
let n = 0;
const t0 = performance.now();
for (let f = 0; f < 200; f++) {
  for (let i = 0; i < 20; i++, n++) ev.emit('request', { type: 'request', id: 'id' + n, method: 'POST', path: '/hooks/github?x=' + n, status: n % 7 ? 200 : 502, durationMs: 3.1, requestBytes: 7000, responseBytes: 17, ...(n % 7 ? {} : { error: 'upstream_unreachable' }) });
  c.flush();
  await new Promise((r) => setImmediate(r));
}
const total = performance.now() - t0;
inst.unmount();
times = times.slice(5);
console.log(`renders ${times.length}, avg renderTime ${(times.reduce((a, b) => a + b, 0) / times.length).toFixed(2)} ms, wall per frame ${(total / 200).toFixed(2)} ms, bytes/frame ${(stdout.bytes / 200).toFixed(0)}`);

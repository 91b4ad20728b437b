process.env.NODE_ENV = 'production';
const { EventEmitter } = await import('node:events');
const { runInspector } = await import('/work/wt-ui/dist/ui/inspector/run.js');
const { InspectorController } = await import('/work/wt-ui/dist/ui/inspector/controller.js');
class Out extends EventEmitter { columns = 80; rows = 24; isTTY = true; frames = 0; last = ''; write(s) { this.frames++; this.last += s; return true; } }
class In extends EventEmitter { isTTY = true; buf = []; setRawMode() {} setEncoding() {} ref() {} unref() {} read() { return this.buf.shift() ?? null; } resume() {} pause() {} type(s) { this.buf.push(s); this.emit('readable'); } }
const stdout = new Out(); const stdin = new In();
const c = new InspectorController({ url: 'u', target: 't', relay: 'r', embedded: true }, { quit() {} }, { flushMs: 10 });
const ev = new EventEmitter(); c.attach(ev);
for (let i = 0; i < 5; i++) ev.emit('request', { type: 'request', id: 'id' + i, method: 'GET', path: '/p' + i, status: 200, durationMs: 1, requestBytes: 0, responseBytes: 0 });
const h = runInspector(c, { stdout, stdin, stderr: stdout });
await new Promise((r) => setTimeout(r, 200));
const sel = () => [...stdout.last.matchAll(/> \S+ GET +(\/p\d)/g)].at(-1)?.[1];
console.log('before', stdout.frames, sel());
stdin.type('k'); await new Promise((r) => setTimeout(r, 200));
console.log('after k', stdout.frames, sel(), c.getState().selected);
await h.suspend(async () => { await new Promise((r) => setTimeout(r, 100)); });
await new Promise((r) => setTimeout(r, 200));
console.log('remounted', stdout.frames, sel());
stdin.type('k'); await new Promise((r) => setTimeout(r, 300));
console.log('after k', stdout.frames, sel(), c.getState().selected);
c.notify('x'); await new Promise((r) => setTimeout(r, 300));
console.log('after notify', stdout.frames, sel());
h.stop(); c.dispose();

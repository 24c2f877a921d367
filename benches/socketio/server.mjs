// A Socket.IO 4.8 server doing what jobpulse does in the fan-out benchmark: every client joins one
// room, and events of the same shape and size as jobpulse's `progress` are emitted to it.
// Usage: node server.mjs PORT; then on stdin: `publish COUNT PER_SECOND` → prints `published`.
import { Server } from 'socket.io';
import readline from 'node:readline';

const port = Number(process.argv[2]);
const io = new Server({ transports: ['websocket'], perMessageDeflate: false, serveClient: false });
io.on('connection', (socket) => socket.join('job'));
io.listen(port);
console.log('ready');

const job = '01a20e5f-a78f-775f-8236-c833bd5c4fa3';
function publish(count, perSecond) {
  let seq = 0;
  const every = 1000 / perSecond;
  const started = Date.now();
  const tick = () => {
    // Catch up to the schedule, so timers firing late do not lower the rate.
    const due = Math.min(count, Math.floor((Date.now() - started) / every) + 1);
    while (seq < due) {
      seq += 1;
      io.to('job').emit('progress', {
        type: 'progress', job_id: job, seq, at: Date.now(), device_id: 1,
        phone: `+3460000${String(seq).padStart(4, '0')}`, status: 'sent', attempts: 1,
        progress: { sent: seq, failed: 0, total: count, percentage: (seq * 100) / count, unknown: 0 },
      });
    }
    if (seq < count) setTimeout(tick, every / 2);
    else console.log('published');
  };
  tick();
}

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const [command, count, perSecond] = line.trim().split(/\s+/);
  if (command === 'publish') publish(Number(count), Number(perSecond));
});

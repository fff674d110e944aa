// multilink lab: a batch of COUNT downloads, one connection each, WORKERS at a time, each
// read to its end; bounded by LIMIT_MS overall and stopped early by SIGTERM. Prints
// {"first","last","downloads":[{start,end,bytes,port,ok}]}: first is the first byte of the
// batch, last its last byte. Usage: node batch-client.mjs HOST PORT COUNT WORKERS LIMIT_MS
import { connect } from 'node:net';

const [host, portText, countText, workersText, limitText] = process.argv.slice(2);
const [port, count, workers, limitMs] = [portText, countText, workersText, limitText].map(Number);
const downloads = [];
let first = 0;
let last = 0;
let stopping = false;
const deadline = Date.now() + limitMs;
process.on('SIGTERM', () => (stopping = true));

function one() {
  return new Promise((resolve) => {
    const d = { start: Date.now(), end: 0, bytes: 0, port: 0, ok: false };
    downloads.push(d);
    const s = connect({ host, port });
    const timer = setTimeout(() => s.destroy(), Math.max(1, deadline - Date.now()));
    s.on('connect', () => (d.port = s.localPort));
    s.on('data', (b) => {
      const now = Date.now();
      if (!first) first = now;
      last = now;
      d.bytes += b.length;
    });
    s.on('end', () => (d.ok = true));
    s.on('error', () => undefined);
    s.on('close', () => {
      clearTimeout(timer);
      d.end = Date.now();
      resolve();
    });
  });
}

let started = 0;
async function worker() {
  while (!stopping && started < count && Date.now() < deadline) {
    started++;
    await one();
  }
}
await Promise.all(Array.from({ length: Math.min(workers, count) }, worker));
process.stdout.write(`${JSON.stringify({ first, last, downloads })}\n`);

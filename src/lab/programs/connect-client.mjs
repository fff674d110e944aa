// multilink lab: COUNT short TCP connections to HOST:PORT, CONCURRENCY at a time, each given
// PER_MS, all within TOTAL_MS; bounded in number and time. Prints
// {"ok":…,"failed":…,"notStarted":…}. Usage:
// node connect-client.mjs HOST PORT COUNT CONCURRENCY PER_MS TOTAL_MS [SOURCE|-]
import { connect } from 'node:net';

const [host, portText, countText, concurrencyText, perText, totalText, source] = process.argv.slice(2);
const [port, count, concurrency, perMs, totalMs] = [portText, countText, concurrencyText, perText, totalText].map(Number);
const localAddress = source && source !== '-' ? source : undefined;
const deadline = Date.now() + totalMs;
let started = 0;
let ok = 0;
let failed = 0;

const one = () =>
  new Promise((resolve) => {
    const s = connect({ host, port, localAddress });
    let got = '';
    const timer = setTimeout(() => {
      s.destroy();
      resolve(false);
    }, perMs);
    s.setEncoding('utf8');
    s.on('data', (d) => (got += d));
    s.on('end', () => {
      clearTimeout(timer);
      s.destroy();
      resolve(got.startsWith('ok'));
    });
    s.on('error', () => {
      clearTimeout(timer);
      resolve(false);
    });
  });

const worker = async () => {
  while (started < count && Date.now() < deadline) {
    started += 1;
    if (await one()) ok += 1;
    else failed += 1;
  }
};

await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, count)) }, worker));
console.log(JSON.stringify({ ok, failed, notStarted: count - started }));

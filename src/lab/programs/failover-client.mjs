// multilink lab: paced new connections (probe) and long-lived streams (hold), each bounded
// in count and time and stopped early by SIGTERM.
// probe HOST PORT SOURCE|- INTERVAL_MS PER_MS COUNT TOTAL_MS: a new connection every
//   INTERVAL_MS (not waiting for the previous one), each given PER_MS; prints
//   {"attempts":[{start,ms,ok,port}]}.
// hold HOST PORT COUNT MAX_S BUCKET_MS SOURCE|- [SEND_MS]: COUNT long-lived connections, bytes
//   counted per BUCKET_MS slot, a byte sent every SEND_MS ms when given (for an echo server);
//   prints {"t0","bucketMs","streams":[…]}.
import { connect } from 'node:net';

const [mode, host, port, ...rest] = process.argv.slice(2);
let stopping = false;
let finish = () => undefined;
process.on('SIGTERM', () => {
  stopping = true;
  finish();
});
const sourceOf = (s) => (s === '-' || !s ? undefined : s);

if (mode === 'probe') {
  const [source, interval, per, count, total] = [rest[0], ...rest.slice(1).map(Number)];
  const attempts = [];
  const pending = new Set();
  const end = Date.now() + total;
  const one = () => {
    const a = { start: Date.now(), ms: 0, ok: false, port: 0 };
    attempts.push(a);
    const p = new Promise((resolve) => {
      const s = connect({ host, port: Number(port), localAddress: sourceOf(source) });
      let got = '';
      const done = (ok) => {
        clearTimeout(timer);
        a.ms = Date.now() - a.start;
        a.ok = ok;
        s.destroy();
        resolve();
      };
      const timer = setTimeout(() => done(false), per);
      s.on('connect', () => {
        a.port = s.localPort;
      });
      s.setEncoding('utf8');
      s.on('data', (d) => (got += d));
      s.on('end', () => done(got.startsWith('ok')));
      s.on('error', () => done(false));
    });
    pending.add(p);
    p.then(() => pending.delete(p));
  };
  const tick = setInterval(() => {
    if (stopping || attempts.length >= count || Date.now() >= end) {
      clearInterval(tick);
      finish();
      return;
    }
    one();
  }, interval);
  await new Promise((resolve) => {
    finish = resolve;
  });
  clearInterval(tick);
  await Promise.all([...pending]);
  console.log(JSON.stringify({ attempts }));
} else {
  const [count, maxS, bucketMs, source, sendMs] = [...rest.slice(0, 3).map(Number), rest[3], Number(rest[4] ?? 0)];
  const t0 = Date.now();
  const slots = Math.ceil((maxS * 1000) / bucketMs) + 1;
  const streams = Array.from({ length: count }, () => {
    const st = { port: 0, connectedAt: 0, bytes: 0, buckets: new Array(slots).fill(0), error: '', errorAt: 0, endedAt: 0 };
    const s = connect({ host, port: Number(port), localAddress: sourceOf(source) });
    s.on('connect', () => {
      st.port = s.localPort;
      st.connectedAt = Date.now();
      if (sendMs > 0) st.timer = setInterval(() => s.destroyed || s.write('.'), sendMs);
    });
    s.on('close', () => clearInterval(st.timer));
    s.on('data', (d) => {
      st.bytes += d.length;
      const i = Math.floor((Date.now() - t0) / bucketMs);
      if (i < slots) st.buckets[i] += d.length;
    });
    s.on('error', (e) => {
      if (!stopping) {
        st.error = e.code ?? e.message;
        st.errorAt = Date.now();
      }
    });
    s.on('end', () => {
      if (!stopping) st.endedAt = Date.now();
    });
    st.socket = s;
    return st;
  });
  await new Promise((resolve) => {
    finish = resolve;
    setTimeout(resolve, maxS * 1000);
  });
  stopping = true;
  for (const st of streams) {
    clearInterval(st.timer);
    st.socket.destroy();
    delete st.socket;
    delete st.timer;
  }
  console.log(JSON.stringify({ t0, bucketMs, streams }));
}
process.exit(0);

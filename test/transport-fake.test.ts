import { describe, expect, it } from 'vitest';
import { UnreachableError } from '../src/errors.js';
import { FakeTransport } from '../src/transport/fake-transport.js';
import type { ConnectTarget } from '../src/transport/transport.js';

const target = (name: string): ConnectTarget => ({ name, connection: { host: `${name}.example.net`, become: false } });
const opts = { acceptNewHostKeys: false, timeoutMs: 1000 };

describe('FakeTransport', () => {
  it('records connects and execs per host and answers through the handler', async () => {
    const fake = new FakeTransport((host, command, stdin) => ({ stdout: `${host}:${command}:${stdin ?? ''}`, stderr: '', code: 0 }));
    const s1 = await fake.connect(target('r1'), opts);
    expect(await s1.exec('id -u', { timeoutMs: 10 })).toEqual({ stdout: 'r1:id -u:', stderr: '', code: 0 });
    expect(await s1.exec('sh', { stdin: 'echo hi', timeoutMs: 10 })).toMatchObject({ stdout: 'r1:sh:echo hi' });
    await s1.close();
    const s2 = await fake.connect(target('r1'), opts);
    await s2.exec('true', { timeoutMs: 10 });
    await s2.close();
    expect(fake.connectionCount('r1')).toBe(2);
    expect(fake.execCount('r1')).toBe(3);
    expect(fake.execsFor('r1').map((e) => [e.command, e.stdin, e.connection])).toEqual([
      ['id -u', undefined, 1],
      ['sh', 'echo hi', 1],
      ['true', undefined, 2],
    ]);
    expect(fake.connects[0].target.connection.host).toBe('r1.example.net');
    expect(fake.openSessionCount).toBe(0);
  });

  it('makes a host unreachable, and reachable again', async () => {
    const fake = new FakeTransport();
    fake.setUnreachable('r2', 'connection refused');
    await expect(fake.connect(target('r2'), opts)).rejects.toBeInstanceOf(UnreachableError);
    expect(fake.connectionCount('r2')).toBe(0);
    expect(fake.connects).toHaveLength(1);
    fake.setUnreachable('r2', false);
    const s = await fake.connect(target('r2'), opts);
    expect(await s.exec('x', { timeoutMs: 10 })).toEqual({ stdout: '', stderr: '', code: 0 });
  });

  it('refuses exec on a closed session, passes async handlers and their errors through', async () => {
    const fake = new FakeTransport(async (_h, command) => {
      if (command === 'boom') throw new Error('boom');
      return { stdout: '', stderr: 'warn', code: 3 };
    });
    const s = await fake.connect(target('r3'), opts);
    expect(await s.exec('x', { timeoutMs: 10 })).toEqual({ stdout: '', stderr: 'warn', code: 3 });
    await expect(s.exec('boom', { timeoutMs: 10 })).rejects.toThrow('boom');
    await s.close();
    await expect(s.exec('x', { timeoutMs: 10 })).rejects.toThrow('closed');
  });

  it('a conversation is one exec: the first part, then the answer as a second call of the handler', async () => {
    const fake = new FakeTransport((_h, _c, stdin) => ({ stdout: stdin === 'part 1' ? 'facts\n@@P\n' : `did ${stdin}\n`, stderr: '', code: 0 }));
    const s = await fake.connect(target('r4'), opts);
    let sent = 0;
    const res = await s.converse('sh -s', { stdin: 'part 1', prompt: '@@P', timeoutMs: 10, answer: (before) => `plan for ${before.trim()}`, onSent: () => sent++ });
    expect(res).toEqual({ stdout: 'facts\n@@P\ndid plan for facts\n', stderr: '', code: 0, before: 'facts\n', after: 'did plan for facts\n', prompted: true });
    expect(sent).toBe(1);
    const quiet = await s.converse('sh -s', { stdin: 'part 1', prompt: '@@P', timeoutMs: 10, answer: () => '' });
    expect(quiet).toMatchObject({ after: '', prompted: true });
    const none = await s.converse('sh -s', { stdin: 'other', prompt: '@@P', timeoutMs: 10, answer: () => 'x' });
    expect(none).toMatchObject({ before: 'did other\n', prompted: false });
    expect(fake.execCount('r4')).toBe(3);
    expect(fake.execsFor('r4').map((e) => e.answer)).toEqual(['plan for facts', '', undefined]);
  });
});

// Two child processes race casRef on the same ref, round after round: exactly one wins each round.
import { describe, expect, it } from 'vitest';
import { fork, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';
import { LocalBackend } from '../../src/store/local-backend.js';
import { tempDir } from './helpers.js';

const CHILD = `
import { LocalBackend } from './local-backend.mjs';
const [root, key, id] = process.argv.slice(2);
const backend = new LocalBackend(root);
process.on('message', async (m) => {
  if (m.type === 'exit') process.exit(0);
  const ok = await backend.casRef(key, Buffer.from('round ' + m.round + ' by ' + id), m.expect);
  process.send({ round: m.round, ok });
});
process.send({ ready: true });
`;

function nextMessage(child: ChildProcess): Promise<any> {
  return new Promise((res, rej) => {
    const onError = (e: Error) => rej(e);
    child.once('error', onError);
    child.once('message', (m) => {
      child.off('error', onError);
      res(m);
    });
  });
}

describe('casRef across processes', () => {
  it('exactly one of two processes wins each round', async () => {
    const dir = await tempDir();
    buildSync({
      entryPoints: [fileURLToPath(new URL('../../src/store/local-backend.ts', import.meta.url))],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      outfile: join(dir, 'local-backend.mjs'),
      logLevel: 'silent',
    });
    await writeFile(join(dir, 'child.mjs'), CHILD);
    const root = join(dir, 'data');
    const key = 'projects/o/p/head';
    const children = ['A', 'B'].map((id) =>
      fork(join(dir, 'child.mjs'), [root, key, id], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }),
    );
    try {
      await Promise.all(children.map(nextMessage));
      const local = new LocalBackend(root);
      const wins = { A: 0, B: 0 };
      for (let round = 0; round < 30; round++) {
        const expectVersion = (await local.getRef(key))?.version ?? null;
        const replies = children.map(nextMessage);
        for (const c of children) c.send({ type: 'round', round, expect: expectVersion });
        const [a, b] = await Promise.all(replies);
        expect(a.round).toBe(round);
        expect(b.round).toBe(round);
        expect(Number(a.ok) + Number(b.ok)).toBe(1);
        const winner = a.ok ? 'A' : 'B';
        wins[winner]++;
        expect((await local.getRef(key))!.data.toString()).toBe(`round ${round} by ${winner}`);
      }
      expect(wins.A + wins.B).toBe(30);
    } finally {
      for (const c of children) c.send({ type: 'exit' });
    }
  }, 20_000);
});

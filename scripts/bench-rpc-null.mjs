#!/usr/bin/env node
// NULL calls per second through RpcServer, measured with RpcClient at a fixed number of
// calls in flight. The server runs in a child process so each side has a core.
// Usage: node scripts/bench-rpc-null.mjs [--seconds 3] [--inflight 16]
// Prints one JSON line. Compiles rpc/ into .bench/rpc-build first (tsc).
import { execFileSync, fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outDir = path.join(root, '.bench', 'rpc-build');
const PROG = 0x20000bad;

function arg(name, def) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
}

async function loadRpc() {
  return import(pathToFileURL(path.join(outDir, 'index.js')).href);
}

async function serve() {
  const { RpcServer } = await loadRpc();
  const { pino } = await import('pino');
  const server = new RpcServer({ logger: pino({ level: 'warn' }) });
  server.register({ prog: PROG, vers: 1, procs: new Map([[0, { name: 'NULL', idempotent: true, handler: () => {} }]]) });
  const port = await server.listen(0, '127.0.0.1');
  process.send({ port });
  process.on('message', async (m) => {
    if (m === 'stop') {
      await server.close();
      process.exit(0);
    }
  });
}

async function bench() {
  const seconds = arg('seconds', 3);
  const inFlight = arg('inflight', 16);
  if (!existsSync(path.join(root, 'node_modules', '.bin', 'tsc'))) throw new Error('run npm install first');
  execFileSync(
    path.join(root, 'node_modules', '.bin', 'tsc'),
    [
      '--outDir',
      outDir,
      '--rootDir',
      path.join(root, 'rpc'),
      '--module',
      'NodeNext',
      '--moduleResolution',
      'NodeNext',
      '--target',
      'ES2022',
      '--strict',
      '--skipLibCheck',
      '--types',
      'node',
      '--declaration',
      'false',
      ...['index.ts'].map((f) => path.join(root, 'rpc', f)),
    ],
    { stdio: 'inherit' },
  );
  // the compiled files import 'pino' only as a type, so .bench/ needs no node_modules of its own
  const child = fork(fileURLToPath(import.meta.url), ['--serve'], { stdio: 'inherit' });
  const port = await new Promise((resolve) => child.once('message', (m) => resolve(m.port)));
  const { RpcClient } = await loadRpc();
  const client = await RpcClient.connect('127.0.0.1', port);

  let calls = 0;
  let running = true;
  const loop = async () => {
    while (running) {
      await client.call(PROG, 1, 0);
      calls++;
    }
  };
  const loops = Array.from({ length: inFlight }, loop);
  await new Promise((r) => setTimeout(r, 500)); // warm-up
  const c0 = calls;
  const t0 = process.hrtime.bigint();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const c1 = calls;
  const t1 = process.hrtime.bigint();
  running = false;
  await Promise.all(loops);
  await client.close();
  child.send('stop');
  await new Promise((r) => child.once('exit', r));
  const elapsed = Number(t1 - t0) / 1e9;
  console.log(
    JSON.stringify({
      bench: 'rpc-null',
      inFlight,
      seconds: +elapsed.toFixed(3),
      calls: c1 - c0,
      callsPerSec: Math.round((c1 - c0) / elapsed),
    }),
  );
}

if (process.argv.includes('--serve')) await serve();
else await bench();

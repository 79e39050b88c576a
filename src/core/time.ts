import type { NfsTime } from './attrs.js';

let lastNs = 0n;

/** Server time, strictly increasing so that every change gets a distinct ctime. */
export function now(): NfsTime {
  let ns = BigInt(Date.now()) * 1_000_000n;
  if (ns <= lastNs) ns = lastNs + 1n;
  lastNs = ns;
  return { sec: Number(ns / 1_000_000_000n), nsec: Number(ns % 1_000_000_000n) };
}

export function sameTime(a: NfsTime, b: NfsTime): boolean {
  return a.sec === b.sec && a.nsec === b.nsec;
}

export function fromPair(p: [number, number]): NfsTime {
  return { sec: p[0], nsec: p[1] };
}

export function toPair(t: NfsTime): [number, number] {
  return [t.sec, t.nsec];
}

import { NfsTimeRecord, type NfsTime } from './attrs.js';

let lastSec = 0;
let lastNsec = 0;

/** Server time, strictly increasing so that every change gets a distinct ctime (plain numbers: BigInt
 *  arithmetic allocated on every change). */
export function now(): NfsTime {
  const ms = Date.now();
  let sec = Math.floor(ms / 1000);
  let nsec = (ms - sec * 1000) * 1_000_000;
  if (sec < lastSec || (sec === lastSec && nsec <= lastNsec)) {
    sec = lastSec;
    nsec = lastNsec + 1;
    if (nsec >= 1_000_000_000) {
      sec++;
      nsec = 0;
    }
  }
  lastSec = sec;
  lastNsec = nsec;
  return new NfsTimeRecord(sec, nsec);
}

export function sameTime(a: NfsTime, b: NfsTime): boolean {
  return a.sec === b.sec && a.nsec === b.nsec;
}

export function fromPair(p: [number, number]): NfsTime {
  return new NfsTimeRecord(p[0], p[1]);
}

export function toPair(t: NfsTime): [number, number] {
  return [t.sec, t.nsec];
}

/** t as an NfsTimeRecord (the same object when it is one): for times from JSON (a checkpoint) or a caller's
 *  literal, kept by an inode (attrs.ts: one hidden class for every time). */
export function timeRecord(t: NfsTime): NfsTimeRecord {
  return t instanceof NfsTimeRecord ? t : new NfsTimeRecord(t.sec, t.nsec);
}

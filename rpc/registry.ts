// Program/version/procedure lookup and the accept_stat for misses (RFC 5531 §9).
import type { Procedure, ProgramVersion } from './handler.js';
import { PROC_UNAVAIL, PROG_MISMATCH, PROG_UNAVAIL } from './message.js';

/** Why a call found no procedure: accept_stat, plus the supported versions for PROG_MISMATCH. */
export class RegistryMiss {
  constructor(
    readonly stat: number,
    readonly low = 0,
    readonly high = 0,
  ) {}
}

const PROG_UNAVAIL_MISS = new RegistryMiss(PROG_UNAVAIL);
const PROC_UNAVAIL_MISS = new RegistryMiss(PROC_UNAVAIL);

interface ProgramEntry {
  versions: Map<number, ProgramVersion>;
  mismatch: RegistryMiss;
}

export class ProgramRegistry {
  private programs = new Map<number, ProgramEntry>();

  /** Adds a program version; its `procs` map stays live (procedures added later are found). */
  register(pv: ProgramVersion): void {
    let entry = this.programs.get(pv.prog);
    if (!entry) {
      entry = { versions: new Map(), mismatch: PROG_UNAVAIL_MISS };
      this.programs.set(pv.prog, entry);
    }
    if (entry.versions.has(pv.vers)) throw new Error(`program ${pv.prog} version ${pv.vers} is already registered`);
    entry.versions.set(pv.vers, pv);
    const vs = [...entry.versions.keys()];
    entry.mismatch = new RegistryMiss(PROG_MISMATCH, Math.min(...vs), Math.max(...vs));
  }

  /** The procedure, or a RegistryMiss saying PROG_UNAVAIL, PROG_MISMATCH(low, high) or PROC_UNAVAIL. */
  lookup(prog: number, vers: number, proc: number): Procedure | RegistryMiss {
    const entry = this.programs.get(prog);
    if (entry === undefined) return PROG_UNAVAIL_MISS;
    const pv = entry.versions.get(vers);
    if (pv === undefined) return entry.mismatch;
    return pv.procs.get(proc) ?? PROC_UNAVAIL_MISS;
  }

  /** Registered (prog, vers) pairs. */
  list(): Array<{ prog: number; vers: number }> {
    const out: Array<{ prog: number; vers: number }> = [];
    for (const [prog, e] of this.programs) for (const vers of e.versions.keys()) out.push({ prog, vers });
    return out;
  }
}

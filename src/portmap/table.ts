// The portmapper's table of mappings (RFC 1833 §3.1): (prog, vers, prot) -> port.

export const PMAP_PROGRAM = 100000;
export const PMAP_V2 = 2;
export const PMAP_PORT = 111;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;

export interface Mapping {
  prog: number;
  vers: number;
  prot: number;
  port: number;
}

export class PortTable {
  private readonly map = new Map<string, Mapping>();

  private static key(prog: number, vers: number, prot: number): string {
    return `${prog}/${vers}/${prot}`;
  }

  /** Adds a mapping; false when (prog, vers, prot) is already mapped (§3.2 PMAPPROC_SET refuses). */
  set(m: Mapping): boolean {
    const k = PortTable.key(m.prog, m.vers, m.prot);
    if (this.map.has(k)) return false;
    this.map.set(k, { ...m });
    return true;
  }

  /** Removes every mapping of (prog, vers), whatever prot and port (§3.2 PMAPPROC_UNSET); false if none. */
  unset(prog: number, vers: number): boolean {
    let any = false;
    for (const [k, m] of this.map)
      if (m.prog === prog && m.vers === vers) {
        this.map.delete(k);
        any = true;
      }
    return any;
  }

  /** The port of (prog, vers, prot), 0 when not registered (§3.2 PMAPPROC_GETPORT; port is ignored). */
  getport(prog: number, vers: number, prot: number): number {
    return this.map.get(PortTable.key(prog, vers, prot))?.port ?? 0;
  }

  list(): Mapping[] {
    return [...this.map.values()];
  }
}

// Which client addresses may use the NFS port: a list of addresses and CIDR prefixes (IPv4 and
// IPv6). Parsed strictly: a spec that is not exactly ADDRESS or ADDRESS/BITS is refused at start
// (`10.0.0.0/` once parsed as /0 and allowed every address).
import net from 'node:net';

export class AllowList {
  private readonly list = new net.BlockList();

  constructor(readonly specs: string[]) {
    if (specs.length === 0) throw new Error('--allow: no address given (the daemon would refuse every client)');
    for (const spec of specs) {
      const parts = spec.split('/');
      const addr = parts[0];
      const type = net.isIPv4(addr) ? 'ipv4' : net.isIPv6(addr) ? 'ipv6' : null;
      if (type === null || parts.length > 2) throw new Error(`--allow: not an address or ADDRESS/BITS: "${spec}"`);
      if (parts.length === 1) {
        this.list.addAddress(addr, type);
        continue;
      }
      const max = type === 'ipv4' ? 32 : 128;
      const bits = parts[1];
      if (!/^\d{1,3}$/.test(bits) || Number(bits) > max) {
        throw new Error(`--allow: bad prefix length in "${spec}" (want a number from 0 to ${max})`);
      }
      this.list.addSubnet(addr, Number(bits), type);
    }
  }

  allows(address: string): boolean {
    const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
    if (net.isIPv4(v4)) return this.list.check(v4, 'ipv4');
    return net.isIPv6(address) && this.list.check(address, 'ipv6');
  }
}

export const LOOPBACK = ['127.0.0.0/8', '::1/128'];

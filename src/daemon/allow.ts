// Which client addresses may mount: a list of CIDR prefixes (IPv4 and IPv6).
import net from 'node:net';

export class AllowList {
  private readonly list = new net.BlockList();

  constructor(readonly specs: string[]) {
    for (const spec of specs) {
      const [addr, bits] = spec.split('/');
      const type = net.isIPv6(addr) ? 'ipv6' : 'ipv4';
      if (!net.isIP(addr)) throw new Error(`bad address in allow list: ${spec}`);
      if (bits === undefined) this.list.addAddress(addr, type);
      else this.list.addSubnet(addr, Number(bits), type);
    }
  }

  allows(address: string): boolean {
    const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
    if (net.isIPv4(v4)) return this.list.check(v4, 'ipv4');
    return net.isIPv6(address) && this.list.check(address, 'ipv6');
  }
}

export const LOOPBACK = ['127.0.0.0/8', '::1/128'];

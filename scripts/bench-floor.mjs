// node scripts/bench-floor.mjs [PORT]: the smallest ONC RPC responder on Node's `net` that nfs-bench can
// drive: the Node/libuv floor of a call at one in flight (the C floor is scripts/bench-floor.c; both are
// benchmark tools, never part of mic-fs). It answers MOUNT v3 MNT (a fixed handle), NFS v3 NULL, GETATTR (a
// fixed fattr3) and FSINFO with canned bodies, everything else PROC_UNAVAIL, without parsing more than
// the record mark, xid, program and procedure. Each reply is written inside the 'data' callback.
// Prints "port N" once listening. Same flags as any node script (e.g. --single-threaded-gc).
import net from 'node:net';

const words = (...w) => {
  const b = Buffer.alloc(w.length * 4);
  w.forEach((v, i) => b.writeUInt32BE(v >>> 0, i * 4));
  return b;
};
const fattr = [2, 0o755, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0];
const BODY = new Map([
  ['100005/0', words(0)],
  ['100005/1', words(0, 0, 8, 0x6d696300, 1, 1, 1)],
  ['100003/0', words(0)],
  ['100003/1', words(0, 0, ...fattr)],
  ['100003/19', words(0, 0, 0, 0, 1 << 20, 1 << 20, 4096, 1 << 20, 1 << 20, 4096, 65536, -1, -1, 0, 1, 0x1b)],
]);
const UNAVAIL = words(3);

const server = net.createServer({ noDelay: true }, (sock) => {
  let pending = Buffer.alloc(0);
  sock.on('data', (chunk) => {
    let buf = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    const out = [];
    // one fragment per record is all nfs-bench (libnfs) sends
    while (buf.length >= 4) {
      const len = buf.readUInt32BE(0) & 0x7fffffff;
      if (buf.length < 4 + len) break;
      const xid = buf.readUInt32BE(4);
      const body = BODY.get(`${buf.readUInt32BE(16)}/${buf.readUInt32BE(24)}`) ?? UNAVAIL;
      const head = words(0x80000000 + 20 + body.length, xid, 1, 0, 0, 0);
      out.push(head, body);
      buf = buf.subarray(4 + len);
    }
    pending = buf.length ? Buffer.from(buf) : Buffer.alloc(0);
    if (out.length) sock.write(out.length === 2 ? Buffer.concat(out, out[0].length + out[1].length) : Buffer.concat(out));
  });
  sock.on('error', () => sock.destroy());
});
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => console.log(`port ${server.address().port}`));

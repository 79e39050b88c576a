// Reusable large buffers. Allocating a fresh 1 MiB buffer per READ or WRITE makes V8 run a
// full collection every few dozen calls (external memory pressure); reusing them does not.

export class BufferPool {
  private free: Buffer[] = [];

  constructor(
    readonly size: number,
    private readonly maxFree = 64,
  ) {}

  take(): Buffer {
    return this.free.pop() ?? Buffer.allocUnsafeSlow(this.size);
  }

  give(b: Buffer): void {
    if (b.length === this.size && this.free.length < this.maxFree) this.free.push(b);
  }
}

/** Buffers for records and file data up to 1 MiB plus headers. */
export const largeBuffers = new BufferPool(1024 * 1024 + 64 * 1024);

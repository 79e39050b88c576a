// Counts a session's changes in flight and holds new ones back while the session is frozen (a landing,
// rebase or handoff is sealing): freeze() resolves once the changes already past their check have ended.
export class ChangeGate {
  frozen = false;
  private inflight = 0;
  private idle: (() => void)[] = [];

  async freeze(): Promise<void> {
    this.frozen = true;
    await this.drained();
  }

  thaw(): void {
    this.frozen = false;
  }

  /** Resolves once no change is in flight. */
  drained(): Promise<void> {
    if (this.inflight === 0) return Promise.resolve();
    return new Promise((res) => this.idle.push(res));
  }

  enter(): void {
    this.inflight++;
  }

  leave(): void {
    if (--this.inflight === 0 && this.idle.length) {
      const w = this.idle;
      this.idle = [];
      for (const f of w) f();
    }
  }
}

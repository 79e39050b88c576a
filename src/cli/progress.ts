// Progress of long CLI work on stderr, two shapes:
//  - createProgress (gc, land, handoff): phases with a bar on a terminal, plain lines otherwise (one at
//    each tenth of the way and at the end), nothing with --quiet;
//  - progress (git import/export): one running count, a bar on a terminal, a line every few seconds otherwise.
// Results still go to stdout, so `mic gc --json | jq` keeps working with a bar on the terminal.
import { createRequire } from 'node:module';
import type cliProgressModule from 'cli-progress';

// cli-progress loads on the first bar drawn, not with every mic command
let loaded: typeof cliProgressModule | undefined;
function bars(): typeof cliProgressModule {
  return (loaded ??= createRequire(import.meta.url)('cli-progress') as typeof cliProgressModule);
}

export interface PhasedProgress {
  /** Starts (or restarts) a phase of `total` steps; total 0 means unknown. */
  phase(label: string, total: number): void;
  /** Steps done so far in the current phase. */
  update(done: number): void;
  /** Ends the current phase (the bar is cleared; a plain line says how it ended: `summary`, default "N done"). */
  done(summary?: string): void;
}

export interface ProgressOptions {
  quiet?: boolean;
  stream?: NodeJS.WriteStream;
  /** default: stream.isTTY */
  tty?: boolean;
}

const NONE: PhasedProgress = { phase() {}, update() {}, done() {} };

export function createProgress(o: ProgressOptions = {}): PhasedProgress {
  if (o.quiet) return NONE;
  const stream = o.stream ?? process.stderr;
  return (o.tty ?? !!stream.isTTY) ? new BarProgress(stream) : new LineProgress(stream);
}

class BarProgress implements PhasedProgress {
  private bar: cliProgressModule.SingleBar | null = null;
  private label = '';
  private total = 0;
  private value = 0;

  constructor(private readonly stream: NodeJS.WriteStream) {}

  phase(label: string, total: number): void {
    this.done();
    this.label = label;
    this.total = total;
    this.value = 0;
    this.bar = new (bars().SingleBar)(
      {
        stream: this.stream,
        format: total > 0 ? '{label} [{bar}] {value}/{total} {percentage}% | eta {eta_formatted}' : '{label} {value}',
        hideCursor: true,
        clearOnComplete: true,
        barsize: 30,
        fps: 10,
        noTTYOutput: false,
      },
      bars().Presets.shades_classic,
    );
    this.bar.start(Math.max(total, 1), 0, { label });
  }

  update(done: number): void {
    this.value = done;
    this.bar?.update(done, { label: this.label });
  }

  done(summary?: string): void {
    if (!this.bar) return;
    if (this.total > 0) this.bar.update(this.total);
    this.bar.stop();
    this.bar = null;
    this.stream.write(
      `${this.label}: ${summary ?? `${this.total > 0 ? `${this.total}/${this.total} ` : this.value > 0 ? `${this.value} ` : ''}done`}\n`,
    );
  }
}

class LineProgress implements PhasedProgress {
  private label = '';
  private total = 0;
  private value = 0;
  private shown = -1;
  private active = false;

  constructor(private readonly stream: NodeJS.WriteStream) {}

  phase(label: string, total: number): void {
    this.done();
    this.label = label;
    this.total = total;
    this.value = 0;
    this.shown = -1;
    this.active = true;
    this.stream.write(`${label}: started${total > 0 ? ` (${total})` : ''}\n`);
  }

  update(done: number): void {
    if (!this.active) return;
    this.value = done;
    if (this.total <= 0) return;
    const tenth = Math.floor((done * 10) / this.total);
    if (tenth > this.shown && tenth < 10) {
      this.shown = tenth;
      if (tenth > 0) this.stream.write(`${this.label}: ${done}/${this.total} (${tenth * 10}%)\n`);
    }
  }

  done(summary?: string): void {
    if (!this.active) return;
    this.active = false;
    this.stream.write(
      `${this.label}: ${summary ?? `${this.total > 0 ? `${this.total}/${this.total} ` : this.value > 0 ? `${this.value} ` : ''}done`}\n`,
    );
  }
}

// ---- progress(what): a running count (src/cli/git.ts)

export interface Progress {
  update(done: number, total: number, label?: string): void;
  stop(): void;
}

export function progress(what: string, stream: NodeJS.WriteStream = process.stderr): Progress {
  const started = Date.now();
  if (stream.isTTY) {
    const bar = new (bars().SingleBar)(
      {
        format: `${what} {label} [{bar}] {value}/{total} {rate}/s eta {eta_formatted}`,
        stream,
        hideCursor: true,
        clearOnComplete: false,
      },
      bars().Presets.shades_classic,
    );
    let begun = false;
    return {
      update(done, total, label = '') {
        const rate = (done / Math.max(0.001, (Date.now() - started) / 1000)).toFixed(0);
        if (!begun) {
          bar.start(total, done, { label, rate });
          begun = true;
        }
        bar.setTotal(total);
        bar.update(done, { label, rate });
      },
      stop() {
        if (begun) bar.stop();
      },
    };
  }
  let last = 0;
  let lastLine = '';
  return {
    update(done, total, label = '') {
      const t = Date.now();
      if (t - last < 2000 && done < total) return;
      last = t;
      const rate = (done / Math.max(0.001, (t - started) / 1000)).toFixed(0);
      const line = `${what}${label ? ' ' + label : ''}: ${done}/${total} (${rate}/s)`;
      if (line !== lastLine) stream.write(line + '\n');
      lastLine = line;
    },
    stop() {},
  };
}

// Progress of long CLI work on stderr: a cli-progress bar when stderr is a terminal, plain lines
// otherwise (one at each tenth of the way and at the end, so logs stay short), nothing with --quiet.
// Results still go to stdout, so `mic gc --json | jq` keeps working with a bar on the terminal.
import cliProgress from 'cli-progress';

export interface Progress {
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

const NONE: Progress = { phase() {}, update() {}, done() {} };

export function createProgress(o: ProgressOptions = {}): Progress {
  if (o.quiet) return NONE;
  const stream = o.stream ?? process.stderr;
  return (o.tty ?? !!stream.isTTY) ? new BarProgress(stream) : new LineProgress(stream);
}

class BarProgress implements Progress {
  private bar: cliProgress.SingleBar | null = null;
  private label = '';
  private total = 0;
  private value = 0;

  constructor(private readonly stream: NodeJS.WriteStream) {}

  phase(label: string, total: number): void {
    this.done();
    this.label = label;
    this.total = total;
    this.value = 0;
    this.bar = new cliProgress.SingleBar({
      stream: this.stream,
      format: total > 0 ? '{label} [{bar}] {value}/{total} {percentage}% | eta {eta_formatted}' : '{label} {value}',
      hideCursor: true,
      clearOnComplete: true,
      barsize: 30,
      fps: 10,
      noTTYOutput: false,
    }, cliProgress.Presets.shades_classic);
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
    this.stream.write(`${this.label}: ${summary ?? `${this.total > 0 ? `${this.total}/${this.total} ` : this.value > 0 ? `${this.value} ` : ''}done`}\n`);
  }
}

class LineProgress implements Progress {
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
    this.stream.write(`${this.label}: ${summary ?? `${this.total > 0 ? `${this.total}/${this.total} ` : this.value > 0 ? `${this.value} ` : ''}done`}\n`);
  }
}

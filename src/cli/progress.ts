// Progress for long commands: a bar (cli-progress) on a terminal, a plain line every few seconds otherwise.
import cliProgress from 'cli-progress';

export interface Progress { update(done: number, total: number, label?: string): void; stop(): void }

export function progress(what: string, stream: NodeJS.WriteStream = process.stderr): Progress {
  const started = Date.now();
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar({
      format: `${what} {label} [{bar}] {value}/{total} {rate}/s eta {eta_formatted}`,
      stream, hideCursor: true, clearOnComplete: false,
    }, cliProgress.Presets.shades_classic);
    let begun = false;
    return {
      update(done, total, label = '') {
        const rate = (done / Math.max(0.001, (Date.now() - started) / 1000)).toFixed(0);
        if (!begun) { bar.start(total, done, { label, rate }); begun = true; }
        bar.setTotal(total);
        bar.update(done, { label, rate });
      },
      stop() { if (begun) bar.stop(); },
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

import cliProgress from 'cli-progress';

/**
 * The CLI's progress on stderr: cli-progress's bar, redrawn in place, on a terminal; elsewhere
 * (a log file, CI) one plain line per 10% instead, which cli-progress does not offer (its
 * non-TTY mode prints on a timer, repeating lines while nothing changes).
 */
export function createProgressBar(stream: NodeJS.WriteStream = process.stderr) {
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        stream,
        format: '[{bar}] {percentage}% {value}/{total} {status}',
        hideCursor: true,
        clearOnComplete: false,
      },
      cliProgress.Presets.legacy,
    );
    let started = false;
    return {
      update(done: number, total: number, status = '') {
        if (!started) {
          bar.start(Math.max(total, 1), done, { status });
          started = true;
        }
        bar.setTotal(Math.max(total, 1));
        bar.update(done, { status });
      },
      end() {
        if (started) bar.stop();
      },
    };
  }
  let lastTenth = -1;
  return {
    update(done: number, total: number, status = '') {
      const frac = total > 0 ? Math.min(1, done / total) : 0;
      if (Math.floor(frac * 10) > lastTenth) {
        lastTenth = Math.floor(frac * 10);
        stream.write(`${(frac * 100).toFixed(0)}% ${done}/${total} ${status}\n`);
      }
    },
    end() {},
  };
}

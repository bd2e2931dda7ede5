/** A one-line progress bar on stderr (redrawn in place on a TTY, a line per 10% otherwise). */
export function createProgressBar(stream: NodeJS.WriteStream = process.stderr, width = 30) {
  let lastTenth = -1;
  return {
    update(done: number, total: number, label = '') {
      const frac = total > 0 ? Math.min(1, done / total) : 0;
      if (stream.isTTY) {
        const filled = Math.round(frac * width);
        stream.write(
          `\r[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${(frac * 100).toFixed(0).padStart(3)}% ${done}/${total} ${label}`,
        );
      } else if (Math.floor(frac * 10) > lastTenth) {
        lastTenth = Math.floor(frac * 10);
        stream.write(`${(frac * 100).toFixed(0)}% ${done}/${total} ${label}\n`);
      }
    },
    end() {
      if (stream.isTTY) stream.write('\n');
    },
  };
}

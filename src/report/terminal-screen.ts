// A frame redrawn in place in a terminal with plain ANSI: the cursor goes home, each line
// overwrites the last frame's and clears what is left of it, and what is below goes. The
// screen is not switched, so the last frame stays in view when the watch ends.
import type { ReadStream, WriteStream } from 'node:tty';

const ESC = '\u001b[';

export interface Screen {
  readonly columns: number;
  draw(lines: readonly string[]): void;
  close(): void;
}

export class TerminalScreen implements Screen {
  private started = false;
  private rawBefore = false;
  private onKey?: (key: Buffer) => void;

  constructor(
    private readonly out: WriteStream,
    private readonly input?: ReadStream,
  ) {}

  get columns(): number {
    return this.out.columns || 100;
  }

  /** Keys: `q` or Ctrl-C (the terminal is in raw mode while watching) call onQuit. */
  listen(onQuit: () => void): void {
    if (!this.input?.isTTY) return;
    this.rawBefore = this.input.isRaw;
    this.input.setRawMode(true);
    this.input.resume();
    this.onKey = (key: Buffer) => {
      const k = key.toString('utf8');
      if (k === 'q' || k === 'Q' || k === '\u0003' || k === '\u0004') onQuit();
    };
    this.input.on('data', this.onKey);
  }

  draw(lines: readonly string[]): void {
    // Hide the cursor and clear the screen once; then each frame is drawn over the last.
    const start = this.started ? '' : `${ESC}?25l${ESC}2J`;
    this.started = true;
    // The last row stays free, so drawing never scrolls; a terminal that tells no size gets all.
    const shown = this.out.rows ? lines.slice(0, Math.max(1, this.out.rows - 1)) : lines;
    this.out.write(`${start}${ESC}H${shown.map((l) => `${l}${ESC}K`).join('\n')}\n${ESC}J`);
  }

  close(): void {
    if (this.input?.isTTY && this.onKey) {
      this.input.off('data', this.onKey);
      this.input.setRawMode(this.rawBefore);
      this.input.pause();
    }
    this.out.write(`${ESC}?25h`);
  }
}

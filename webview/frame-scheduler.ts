// The one animation-frame scheduler: input and message handlers only change state and ask for a
// frame; the redraw runs at most once per animation frame, however many requests arrive.

export class FrameScheduler {
  private pending = false;
  frames = 0;
  /** Duration of the last frames' work, ms (a ring the benchmark reads). */
  readonly recent = new Float64Array(4096);

  constructor(private readonly render: () => void) {}

  request(): void {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      const t = performance.now();
      this.render();
      this.recent[this.frames % this.recent.length] = performance.now() - t;
      this.frames++;
    });
  }
}

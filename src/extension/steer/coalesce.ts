// Live restarts for the steering panel, pure (no vscode): every change cancels the running
// generation without waiting for it, and changes that arrive before the next start coalesce
// into one start with the latest value. Nothing queues: at most one start is ever scheduled.

export interface CancelSource {
  readonly token: { readonly isCancellationRequested: boolean };
  cancel(): void;
  dispose?(): void;
}

export interface LatestWinsOptions {
  /** How a start is deferred (default: setTimeout 0, so a burst of changes in one task coalesces). */
  schedule?: (run: () => void) => void;
  newSource?: () => CancelSource;
}

export class LatestWins<S> {
  private pending: { value: S } | undefined;
  private scheduled = false;
  private running: CancelSource | undefined;
  /** Starts made so far (for tests and timing). */
  starts = 0;
  private readonly schedule: (run: () => void) => void;
  private readonly newSource: () => CancelSource;

  constructor(
    private readonly start: (value: S, token: CancelSource["token"]) => Promise<unknown>,
    opts: LatestWinsOptions = {},
  ) {
    this.schedule = opts.schedule ?? ((run) => void setTimeout(run, 0));
    this.newSource = opts.newSource ?? simpleSource;
  }

  /** A new value: cancel what runs (not awaited), and start the latest value soon. */
  change(value: S): void {
    this.pending = { value };
    this.cancelRunning();
    if (this.scheduled) return;
    this.scheduled = true;
    this.schedule(() => this.flush());
  }

  /** Stops the running generation and drops a pending start. */
  stop(): void {
    this.pending = undefined;
    this.cancelRunning();
  }

  get isRunning(): boolean {
    return this.running !== undefined;
  }

  private cancelRunning(): void {
    const r = this.running;
    this.running = undefined;
    if (r) {
      r.cancel();
      r.dispose?.();
    }
  }

  private flush(): void {
    this.scheduled = false;
    const p = this.pending;
    this.pending = undefined;
    if (!p) return;
    const source = this.newSource();
    this.running = source;
    this.starts++;
    // The promise is never awaited here: a cancelled run finishes on its own time.
    void this.start(p.value, source.token)
      .catch(() => undefined)
      .finally(() => {
        if (this.running === source) this.running = undefined;
      });
  }
}

function simpleSource(): CancelSource {
  const token = { isCancellationRequested: false };
  return { token, cancel: () => void (token.isCancellationRequested = true) };
}

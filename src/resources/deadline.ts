// One deadline per fetch: ignition.timeouts.httpTotal (Ignition's context timeout, which spans every
// retry and the reading of the body) combined with the caller's AbortSignal (e.g. the fetch
// stage's -fetch-timeout). Whatever ends first aborts the fetch with a sentence saying why.

export class Deadline {
  private readonly controller = new AbortController();
  private timer?: NodeJS.Timeout;
  private readonly detach?: () => void;
  /** Why the fetch was cut short (undefined while it runs). */
  reason?: string;

  constructor(totalSeconds: number | undefined, outer?: AbortSignal) {
    if (totalSeconds !== undefined && totalSeconds > 0) {
      this.timer = setTimeout(() => this.abort(`timed out after ${totalSeconds} s (ignition.timeouts.httpTotal)`), totalSeconds * 1000);
    }
    if (outer) {
      const onAbort = () => this.abort(`aborted${describeReason(outer.reason)}`);
      if (outer.aborted) onAbort();
      else {
        outer.addEventListener('abort', onAbort, { once: true });
        this.detach = () => outer.removeEventListener('abort', onAbort);
      }
    }
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  private abort(why: string): void {
    if (this.controller.signal.aborted) return;
    this.reason = why;
    this.dispose();
    this.controller.abort(new Error(why));
  }

  /** Stops the timer and the outer listener (the fetch is over). */
  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.detach?.();
  }
}

function describeReason(r: unknown): string {
  if (r === undefined) return '';
  if (r instanceof Error) return r.name === 'AbortError' ? '' : `: ${r.message}`;
  return `: ${String(r)}`;
}

/** Resolves after ms, or rejects as soon as the signal aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(t);
      reject(signal.reason);
    };
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

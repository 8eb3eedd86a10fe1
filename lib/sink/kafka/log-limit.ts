/**
 * One log line per distinct message per interval. With its brokers down,
 * librdkafka says the same thing on every reconnect, for every broker and
 * both producers, and a burst more at shutdown: the first line of a kind is
 * logged at once, the repeats within `intervalMs` are counted, and at the end
 * of the interval one line carries their count. An interval with no repeat
 * ends the kind's streak: its next line is logged at once again.
 */

/** What a limited line says: the first one (repeated 0) or the count of those held back. */
export type Emit<T> = (entry: T, repeated: number) => void;

interface Streak<T> {
  latest: T;
  repeated: number;
  timer: NodeJS.Timeout;
}

export class LogLimiter<T> {
  private readonly streaks = new Map<string, Streak<T>>();

  constructor(
    private readonly intervalMs: number,
    private readonly emit: Emit<T>,
  ) {}

  /** Logs `entry` now, or counts it when a line of the same `key` was logged within the interval. */
  hit(key: string, entry: T): void {
    const streak = this.streaks.get(key);
    if (streak) {
      streak.latest = entry;
      streak.repeated++;
      return;
    }
    this.emit(entry, 0);
    this.open(key, entry);
  }

  /** Logs the counts held back so far and forgets every streak (a closing producer's last words). */
  flush(): void {
    for (const [key, streak] of this.streaks) {
      clearTimeout(streak.timer);
      this.streaks.delete(key);
      if (streak.repeated > 0) this.emit(streak.latest, streak.repeated);
    }
  }

  private open(key: string, entry: T): void {
    const timer = setTimeout(() => this.close(key), this.intervalMs);
    // A streak never keeps a process alive that is otherwise done.
    timer.unref();
    this.streaks.set(key, { latest: entry, repeated: 0, timer });
  }

  private close(key: string): void {
    const streak = this.streaks.get(key);
    if (!streak) return;
    this.streaks.delete(key);
    if (streak.repeated === 0) return;
    this.emit(streak.latest, streak.repeated);
    // Still repeating: the next interval starts counting from here.
    this.open(key, streak.latest);
  }
}

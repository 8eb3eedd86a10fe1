/**
 * Milliseconds since the epoch of an event time, as Date.parse gives them,
 * for the Kafka message timestamp. The form every producer sends,
 * `YYYY-MM-DDTHH:MM:SS[.fff...]Z`, is read by hand (~25 ns; Date.parse takes
 * ~130 ns, 0.65 ms of a 5,000-event batch); anything else goes to Date.parse.
 */
const DAYS = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function two(s: string, i: number): number {
  const a = s.charCodeAt(i) - 48;
  const b = s.charCodeAt(i + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

export function timestampOf(dt: string): number | undefined {
  const n = dt.length;
  const shaped =
    n >= 20 && n <= 30 && dt.charCodeAt(n - 1) === 90 /* Z */ && dt.charCodeAt(10) === 84 /* T */ &&
    dt.charCodeAt(4) === 45 && dt.charCodeAt(7) === 45 && dt.charCodeAt(13) === 58 && dt.charCodeAt(16) === 58;
  if (shaped) {
    const year = two(dt, 0) * 100 + two(dt, 2);
    const month = two(dt, 5);
    const day = two(dt, 8);
    const hour = two(dt, 11);
    const minute = two(dt, 14);
    const second = two(dt, 17);
    let ms = 0;
    let ok = two(dt, 0) >= 0 && two(dt, 2) >= 0 && year >= 100 && month >= 1 && month <= 12 && day >= 1;
    ok = ok && hour >= 0 && hour <= 23 && minute >= 0 && minute <= 59 && second >= 0 && second <= 59;
    if (ok && n > 20) {
      // Date.parse keeps milliseconds and drops further digits.
      ok = dt.charCodeAt(19) === 46 /* . */ && n > 21;
      let scale = 100;
      for (let i = 20; ok && i < n - 1; i++) {
        const d = dt.charCodeAt(i) - 48;
        if (d < 0 || d > 9) ok = false;
        else if (scale >= 1) {
          ms += d * scale;
          scale /= 10;
        }
      }
    }
    // Date.UTC would roll 2024-02-30 over into March (Date.parse: NaN), and reads years below 100 as 19xx.
    const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
    if (ok && day <= (month === 2 && leap ? 29 : DAYS[month])) return Date.UTC(year, month - 1, day, hour, minute, second, ms);
  }
  const ms = Date.parse(dt);
  return Number.isNaN(ms) ? undefined : ms;
}

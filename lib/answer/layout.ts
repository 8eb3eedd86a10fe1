/**
 * The answer body's JSON layout, written once: `{"invalid":[a,b]}`, or with
 * errors `{"invalid":[a],"error":[b]}`. It lays out items of any kind
 * between punctuation of any kind: a thread lays out its items' places to
 * know where each lands in its bytes (packAnswer), the main thread lays out
 * bytes again after sink refusals (finishAnswer).
 */

export interface Punctuation<P> {
  readonly open: P;
  readonly comma: P;
  readonly between: P;
  readonly close: P;
}

export const TEXT: Punctuation<string> = Object.freeze({ open: '{"invalid":[', comma: ',', between: '],"error":[', close: ']}' });

export const BYTES: Punctuation<Buffer> = Object.freeze({ open: Buffer.from(TEXT.open), comma: Buffer.from(TEXT.comma), between: Buffer.from(TEXT.between), close: Buffer.from(TEXT.close) });

/** The body's pieces in order; `error` undefined: the body has no `error` array (a 400). */
export function layOut<T, P>(invalid: readonly T[], error: readonly T[] | undefined, p: Punctuation<P>): (T | P)[] {
  const pieces: (T | P)[] = [p.open];
  const list = (items: readonly T[]) => items.forEach((item, x) => (x > 0 ? pieces.push(p.comma, item) : pieces.push(item)));
  list(invalid);
  if (error !== undefined) {
    pieces.push(p.between);
    list(error);
  }
  pieces.push(p.close);
  return pieces;
}

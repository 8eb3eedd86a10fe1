interface AjvLikeError {
  instancePath?: string;
  message?: string;
}

/** The text ajv's errorsText gives (`data/meta must have required property 'stream'`), without an ajv instance. */
export function errorsText(errors: readonly unknown[]): string {
  if (errors.length === 0) return 'No errors';
  return errors.map((e) => `data${(e as AjvLikeError).instancePath ?? ''} ${(e as AjvLikeError).message ?? 'is invalid'}`).join(', ');
}

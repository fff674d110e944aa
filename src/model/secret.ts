// A password held so that it cannot leak by accident: printed, logged, serialised to JSON or
// inspected it is a placeholder; only reveal() gives the value, where it is sent on purpose.
const SHOWN = '[secret]';

export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  /** The value itself: for the SSH authentication and the become prompt, nowhere else. */
  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return SHOWN;
  }

  toJSON(): string {
    return SHOWN;
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return SHOWN;
  }
}

/** `text` with every occurrence of the secrets' values replaced by a placeholder (remote messages quoted in errors). */
export function redact(text: string, secrets: readonly (Secret | undefined)[]): string {
  let out = text;
  for (const s of secrets) {
    const v = s?.reveal();
    if (v) out = out.split(v).join(SHOWN);
  }
  return out;
}

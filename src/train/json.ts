// JSON that keeps non-finite numbers visible. JSON has no NaN or Infinity, and JSON.stringify writes
// them as null, which reads as "no value" (null already means "no validation split" in
// history.jsonl). The run files (history.jsonl, state.json) and `resnet evaluate --json` write them
// as the strings "NaN", "Infinity" and "-Infinity" instead (docs/training.md); readers of those
// files turn the strings back into numbers with readNumber / reviveNumbers.

/** JSON.stringify, with NaN and ±Infinity written as the strings "NaN", "Infinity" and "-Infinity". */
export function toJson(value: unknown, space?: number): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), space);
}

const NON_FINITE: Record<string, number> = { NaN: NaN, Infinity: Infinity, '-Infinity': -Infinity };

/** A number as toJson writes it: a number as is, "NaN" / "Infinity" / "-Infinity" as that number; anything else unchanged. */
export function readNumber(value: unknown): unknown {
  return typeof value === 'string' && value in NON_FINITE ? NON_FINITE[value] : value;
}

/** `record` with the fields named in `keys` read by readNumber (for records read back from a run file). */
export function reviveNumbers<T extends object>(record: T, keys: ReadonlyArray<keyof T>): T {
  const out = { ...record };
  for (const key of keys) if (key in out) out[key] = readNumber(out[key]) as T[keyof T];
  return out;
}

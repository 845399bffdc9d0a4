// Option parsers shared by the stage commands.

/** Parses an integer option value; anything else is an error naming the flag. */
export function integerOption(flag: string): (value: string) => number {
  return (value) => {
    const number = Number(value);
    if (value.trim() === "" || !Number.isInteger(number)) throw new RangeError(`${flag}: expected an integer, found "${value}"`);
    return number;
  };
}

/** Parses a comma-separated list option; an empty item is an error naming the flag. */
export function listOption(flag: string): (value: string) => string[] {
  return (value) => {
    const items = value.split(",").map((item) => item.trim());
    if (items.some((item) => item === "")) throw new RangeError(`${flag}: expected a comma-separated list, found "${value}"`);
    return items;
  };
}

/** Options given as --set key=value (JSON values where they parse: numbers, booleans, lists). */
export function collectSetting(value: string, settings: Record<string, unknown>): Record<string, unknown> {
  const at = value.indexOf("=");
  if (at <= 0) throw new RangeError(`--set: expected key=value, found "${value}"`);
  const text = value.slice(at + 1);
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // a plain string
  }
  return { ...settings, [value.slice(0, at)]: parsed };
}

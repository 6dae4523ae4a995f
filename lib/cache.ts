import * as fs from "node:fs";
import * as path from "node:path";

/**
 * A value computed once per key and kept in `file` as JSON: read back when the file is there
 * and parses, else made and written atomically (a temporary name, then a rename), so that two
 * runs at once never read half a file. Only what is a pure function of the key belongs here.
 */
export async function readThrough<T>(
  file: string,
  make: () => Promise<T>,
): Promise<{ value: T; cached: boolean }> {
  try {
    return { value: JSON.parse(await fs.promises.readFile(file, "utf8")) as T, cached: true };
  } catch {
    // Not made yet, or unreadable: make it.
  }
  const value = await make();
  await fs.promises.mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}`;
  await fs.promises.writeFile(tmp, JSON.stringify(value));
  await fs.promises.rename(tmp, file);
  return { value, cached: false };
}

/** A list as a refusal or a report shows it: the first ten, then how many more. */
export function firstTen(xs: readonly string[]): string {
  return xs.slice(0, 10).join(", ") + (xs.length > 10 ? ` and ${xs.length - 10} more` : "");
}

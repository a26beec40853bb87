/**
 * The same array with the elements kind of an array of objects even when empty. V8
 * compiles a site for the elements kinds it has seen: an empty `[]` (small-integer
 * elements) that later receives objects, or read beside full arrays, deoptimises the
 * code around it (thousands of times per run in the chip's frame loop).
 */
export function objects<T extends object>(items: readonly T[]): T[] {
  const a: T[] = [{} as T];
  a.pop();
  for (let i = 0; i < items.length; i++) a.push(items[i]!);
  return a;
}

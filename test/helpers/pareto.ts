/** Pareto front by its definition, for tests: i is on it iff no j is ≤ everywhere and < somewhere (minimising). */
export function bruteForceFront(rows: number[][]): number[] {
  return rows
    .map((_, i) => i)
    .filter((i) => !rows.some((b, j) => j !== i && b.every((v, o) => v <= rows[i]![o]!) && b.some((v, o) => v < rows[i]![o]!)));
}

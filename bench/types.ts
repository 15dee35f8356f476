/** One table printed by `npm run bench`. Each bench module returns one or more. */
export interface BenchTable {
  readonly title: string;
  readonly columns: readonly string[];
  readonly rows: ReadonlyArray<ReadonlyArray<string | number>>;
  /** Optional lines printed under the table (targets, notes). */
  readonly notes?: readonly string[];
}

/** A bench module: `export const run: BenchModule`. */
export type BenchModule = () => Promise<BenchTable[]>;

/** The subset of jStat (https://github.com/jstat/jstat) that Vigil's drift statistics use. */
declare module 'jstat' {
  interface JStatStatic {
    /** Regularised incomplete beta I_x(a, b). */
    ibeta(x: number, a: number, b: number): number;
    /** ln Γ(x). */
    gammaln(x: number): number;
    studentt: {
      cdf(x: number, dof: number): number;
    };
    gamma: {
      /** Quantile of the gamma distribution with this shape and scale. */
      inv(p: number, shape: number, scale: number): number;
    };
    normal: {
      cdf(x: number, mean: number, std: number): number;
    };
  }
  const jStat: JStatStatic;
  export default jStat;
  export { jStat };
}

/** Order statistics and means for the benchmark's figures. */

/** The p-th percentile (0 to 100) of sorted values, linearly interpolated; NaN when empty. */
export function percentileOfSorted(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN
  const rank = (p / 100) * (sorted.length - 1)
  const low = Math.floor(rank)
  const high = Math.min(low + 1, sorted.length - 1)
  const lowValue = sorted[low] ?? Number.NaN
  const highValue = sorted[high] ?? Number.NaN

  return lowValue + (highValue - lowValue) * (rank - low)
}

export function sortedCopy(values: readonly number[]): number[] {
  return Float64Array.from(values).sort() as unknown as number[]
}

export function percentile(values: readonly number[], p: number): number {
  return percentileOfSorted(sortedCopy(values), p)
}

export function median(values: readonly number[]): number {
  return percentile(values, 50)
}

export function mean(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN
  let sum = 0
  for (const value of values) sum += value

  return sum / values.length
}

export interface Summary {
  count: number
  mean: number
  p50: number
  p95: number
  p99: number
  max: number
}

export function summarize(values: readonly number[]): Summary {
  const sorted = sortedCopy(values)

  return {
    count: sorted.length,
    mean: mean(sorted),
    p50: percentileOfSorted(sorted, 50),
    p95: percentileOfSorted(sorted, 95),
    p99: percentileOfSorted(sorted, 99),
    max: sorted[sorted.length - 1] ?? Number.NaN,
  }
}

/** Student's t at 97.5% for 1 to 30 degrees of freedom; 1.96 beyond. */
const T_975 = [
  12.71, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145,
  2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048,
  2.045, 2.042,
]

/**
 * The mean of a time series with a 95% confidence half-width by batch means: waits in a
 * queue are strongly correlated (one long wait follows another), so the plain standard error
 * of n waits would claim a precision the run does not have.
 */
export function batchMeans(
  inTimeOrder: readonly number[],
  batches = 10,
): { mean: number; halfWidth: number } {
  const size = Math.floor(inTimeOrder.length / batches)
  if (size < 1 || batches < 2) return { mean: mean(inTimeOrder), halfWidth: Number.NaN }
  const means: number[] = []
  for (let b = 0; b < batches; b++) means.push(mean(inTimeOrder.slice(b * size, (b + 1) * size)))
  const grand = mean(means)
  const variance = means.reduce((sum, m) => sum + (m - grand) ** 2, 0) / (batches - 1)
  const t = T_975[batches - 2] ?? 1.96

  return { mean: mean(inTimeOrder), halfWidth: t * Math.sqrt(variance / batches) }
}

/** "12.3" for small numbers, "1234" for large: three significant figures or whole numbers. */
export function fmt(value: number): string {
  if (!Number.isFinite(value)) return 'n/a'
  const abs = Math.abs(value)
  if (abs >= 100) return String(Math.round(value))
  if (abs >= 10) return value.toFixed(1)

  return value.toFixed(2)
}

/**
 * Erlang C: the M/M/c queue. c servers, Poisson arrivals at rate lambda, exponential service
 * at rate mu per server; a = lambda / mu is the offered load in erlangs, rho = a / c < 1.
 */
export interface ErlangC {
  /** The probability that an arrival waits at all: C(c, a). */
  probabilityOfWait: number
  /** Mean wait in the queue, Wq = C(c, a) / (c * mu - lambda), in the unit of 1 / mu. */
  meanWait: number
  utilisation: number
}

/**
 * Computed through the Erlang B recursion B(k) = a B(k-1) / (k + a B(k-1)), which stays
 * finite for any c, where the textbook sum of a^k / k! overflows past c of about 170.
 */
export function erlangC(servers: number, arrivalRate: number, serviceRate: number): ErlangC {
  if (!Number.isInteger(servers) || servers < 1) {
    throw new RangeError(`servers must be a positive whole number, got ${servers}`)
  }
  if (!(arrivalRate > 0) || !(serviceRate > 0)) {
    throw new RangeError(`rates must be positive, got ${arrivalRate} and ${serviceRate}`)
  }
  const a = arrivalRate / serviceRate
  const utilisation = a / servers
  if (utilisation >= 1) {
    throw new RangeError(`utilisation ${utilisation} >= 1: the queue grows without bound`)
  }

  let blocking = 1
  for (let k = 1; k <= servers; k++) blocking = (a * blocking) / (k + a * blocking)
  const probabilityOfWait = blocking / (1 - utilisation * (1 - blocking))

  return {
    probabilityOfWait,
    meanWait: probabilityOfWait / (servers * serviceRate - arrivalRate),
    utilisation,
  }
}

/**
 * The p-th quantile (0 < p < 1) of the wait in queue, in the unit of 1 / mu: waits are 0 with
 * probability 1 - C and otherwise exponential with rate c mu - lambda, so
 * P(Wq > t) = C exp(-(c mu - lambda) t).
 */
export function erlangCWaitQuantile(
  servers: number,
  arrivalRate: number,
  serviceRate: number,
  p: number,
): number {
  const { probabilityOfWait } = erlangC(servers, arrivalRate, serviceRate)
  if (1 - p >= probabilityOfWait) return 0

  return Math.log(probabilityOfWait / (1 - p)) / (servers * serviceRate - arrivalRate)
}

import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { erlangC, erlangCWaitQuantile } from '../bench/erlang-c.js'

const close = (actual: number, expected: number, tolerance = 1e-9) =>
  assert.ok(Math.abs(actual - expected) <= tolerance, `${actual} is not ${expected}`)

describe('Erlang C', () => {
  it('gives the textbook M/M/3 at a = 2: P(wait) = 4/9 and Wq = 4/9 of a service time', () => {
    // The classic worked example: P0 = 1/9, so C = (a^c / c!) / (1 - rho) * P0 = 4/9.
    const result = erlangC(3, 2, 1)

    close(result.probabilityOfWait, 4 / 9)
    close(result.meanWait, 4 / 9)
    close(result.utilisation, 2 / 3)
  })

  it('reduces to M/M/1: P(wait) = rho and Wq = rho / (mu - lambda)', () => {
    const result = erlangC(1, 3, 4)

    close(result.probabilityOfWait, 0.75)
    close(result.meanWait, 0.75 / (4 - 3))
  })

  it('matches the direct formula for the shift scenario (c = 20, 200 ms service, rho 0.9)', () => {
    const servers = 20
    const mu = 5
    const lambda = 0.9 * servers * mu
    const a = lambda / mu
    let sum = 0
    let term = 1
    for (let k = 0; k < servers; k++) {
      sum += term
      term *= a / (k + 1)
    }
    const tail = term / (1 - a / servers)
    const expected = tail / (sum + tail)

    const result = erlangC(servers, lambda, mu)

    close(result.probabilityOfWait, expected, 1e-12)
    close(result.meanWait, expected / (servers * mu - lambda), 1e-12)
  })

  it('stays finite for a thousand servers, where a^c / c! would overflow', () => {
    const result = erlangC(1000, 950, 1)

    assert.ok(result.probabilityOfWait > 0 && result.probabilityOfWait < 1)
    assert.ok(Number.isFinite(result.meanWait))
  })

  it('gives wait quantiles from P(Wq > t) = C exp(-(c mu - lambda) t)', () => {
    // M/M/3 at a = 2: C = 4/9 and c mu - lambda = 1, so the 90th percentile is ln(40/9).
    close(erlangCWaitQuantile(3, 2, 1, 0.9), Math.log(4 / 9 / 0.1))
    // Below 1 - C, most arrivals do not wait at all.
    assert.equal(erlangCWaitQuantile(3, 2, 1, 0.5), 0)
  })

  it('refuses a utilisation of 1 or more, which has no steady state', () => {
    assert.throws(() => erlangC(2, 2, 1), /utilisation 1 >= 1/)
  })
})

import { setTimeout as sleep } from 'node:timers/promises'

export interface RetryPolicy {
  /** Attempts in all, the first one included. */
  readonly maxAttempts: number
  readonly baseDelayMs: number
  readonly maxDelayMs: number
  /** No new attempt starts after this long, so a request never waits unboundedly. */
  readonly budgetMs: number
}

export const DEFAULT_RETRY: RetryPolicy = {
  maxAttempts: 6,
  baseDelayMs: 5,
  maxDelayMs: 250,
  budgetMs: 8000,
}

/**
 * Runs `attempt` again while `reasonToRetry` names a reason, waiting an exponentially
 * growing, fully jittered delay, so that writers that collided do not collide again in step.
 */
export async function retrying<T>(
  attempt: () => Promise<T>,
  reasonToRetry: (error: unknown) => string | null,
  onRetry: (reason: string, attemptNumber: number) => void,
  policy: RetryPolicy = DEFAULT_RETRY,
): Promise<T> {
  const started = Date.now()
  for (let attemptNumber = 1; ; attemptNumber++) {
    try {
      return await attempt()
    } catch (error) {
      const reason = reasonToRetry(error)
      const outOfTime = Date.now() - started >= policy.budgetMs
      if (reason === null || attemptNumber >= policy.maxAttempts || outOfTime) throw error
      onRetry(reason, attemptNumber)

      const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attemptNumber - 1))
      await sleep(Math.random() * ceiling)
    }
  }
}

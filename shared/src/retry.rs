//! Jittered exponential backoff for work that lost a race or met a transient failure.
//!
//! Retrying at once after a `TransactionConflict`, a short reservation race or an unprocessed
//! batch key makes the contenders collide again: they all retry in lock step. "Full jitter"
//! (a random wait between zero and an exponentially growing cap, as the AWS Architecture Blog's
//! "Exponential Backoff And Jitter" measures it) spreads them out, so each retry has a real
//! chance. Every use case that retries goes through [`Backoff`], so the policy is in one place.

use std::future::Future;
use std::time::Duration;

/// A retry policy: how many attempts, and the bounds of the jittered wait between them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// Attempts in all, the first included (at least 1).
    pub attempts: u32,
    /// The cap of the wait before the second attempt; it doubles for every later one.
    pub base: Duration,
    /// The cap never grows past this.
    pub max: Duration,
}

impl Backoff {
    /// The policy for races between requests or messages on one item: 6 attempts, waits capped
    /// at 10, 20, 40, 80 and 160 ms (at most 310 ms in all, well inside an API's timeout).
    pub const CONTENTION: Self = Self {
        attempts: 6,
        base: Duration::from_millis(10),
        max: Duration::from_millis(200),
    };

    /// The cap of the wait after failed attempt `attempt` (0-based): `base * 2^attempt`, at
    /// most `max`.
    #[must_use]
    pub fn cap(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.max)
    }

    /// A random wait in `0..=cap(attempt)` ("full jitter").
    #[must_use]
    pub fn delay(&self, attempt: u32) -> Duration {
        let cap = u64::try_from(self.cap(attempt).as_micros()).unwrap_or(u64::MAX);
        Duration::from_micros(fastrand::u64(0..=cap))
    }

    /// Runs `attempt` until it returns something other than [`Retry::Again`], waiting a
    /// jittered [`delay`](Self::delay) between tries. Returns `Err(last)` with the last
    /// `Again` value when every attempt asked for another.
    ///
    /// # Errors
    /// The last [`Retry::Again`] value once the attempts are spent.
    pub async fn run<T, A, F, Fut>(&self, mut attempt: F) -> Result<T, A>
    where
        F: FnMut(u32) -> Fut,
        Fut: Future<Output = Retry<T, A>>,
    {
        let attempts = self.attempts.max(1);
        let mut number = 0;
        loop {
            match attempt(number).await {
                Retry::Done(value) => return Ok(value),
                Retry::Again(again) => {
                    number += 1;
                    if number >= attempts {
                        return Err(again);
                    }
                    tokio::time::sleep(self.delay(number - 1)).await;
                }
            }
        }
    }
}

/// What one attempt of [`Backoff::run`] came to.
#[derive(Debug, PartialEq, Eq)]
pub enum Retry<T, A> {
    /// Finished (successfully or not): stop retrying.
    Done(T),
    /// Lost a race or met a transient failure: try again, or give this back when spent.
    Again(A),
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    const FAST: Backoff = Backoff {
        attempts: 4,
        base: Duration::from_micros(1),
        max: Duration::from_micros(4),
    };

    #[test]
    fn the_cap_doubles_from_the_base_up_to_the_max() {
        let caps: Vec<_> = (0..7).map(|n| Backoff::CONTENTION.cap(n)).collect();
        let ms = Duration::from_millis;
        assert_eq!(
            caps,
            [ms(10), ms(20), ms(40), ms(80), ms(160), ms(200), ms(200)]
        );
        assert_eq!(Backoff::CONTENTION.cap(200), ms(200), "no overflow");
    }

    #[test]
    fn every_delay_lies_between_zero_and_its_cap_and_they_differ() {
        let delays: Vec<_> = (0..200).map(|_| Backoff::CONTENTION.delay(3)).collect();
        assert!(delays.iter().all(|d| *d <= Duration::from_millis(80)));
        let first = delays[0];
        assert!(delays.iter().any(|d| *d != first), "jitter: not all equal");
    }

    #[tokio::test]
    async fn run_stops_at_the_first_done() {
        let calls = Cell::new(0);
        let result: Result<u32, ()> = FAST
            .run(|n| {
                calls.set(calls.get() + 1);
                async move {
                    if n == 2 {
                        Retry::Done(n)
                    } else {
                        Retry::Again(())
                    }
                }
            })
            .await;
        assert_eq!(result, Ok(2));
        assert_eq!(calls.get(), 3);
    }

    #[tokio::test]
    async fn run_gives_back_the_last_again_when_the_attempts_are_spent() {
        let calls = Cell::new(0);
        let result: Result<(), u32> = FAST
            .run(|n| {
                calls.set(calls.get() + 1);
                async move { Retry::Again(n) }
            })
            .await;
        assert_eq!(result, Err(3));
        assert_eq!(calls.get(), 4);
    }
}

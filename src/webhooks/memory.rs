//! What a receiver remembers about the deliveries it saw, keyed by signature, each check O(1).
//!
//! Entries expire in the order they were made: a queue of (key, time) beside the map, popped
//! from the front while the oldest is past the window. A key made again later is queued again;
//! the stale queue entry is skipped when it comes up (its time no longer matches the map's).

// The receiver's half (claims) is used by the axum receiver only.
#![cfg_attr(not(feature = "axum"), allow(dead_code))]

use std::collections::{HashMap, VecDeque};

use chrono::{DateTime, Duration, Utc};

/// A signature: HMAC-SHA256 over the timestamp and the body.
pub(crate) type Key = [u8; 32];

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    /// Seen (the plain verifier's replay memory).
    Done,
    /// Its handler is running now.
    InProgress,
}

/// What [`Memory::claim`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Claim {
    /// Not being handled now: handle it.
    Handle,
    /// The same delivery is being handled right now: ask the sender to come back.
    Busy,
}

#[derive(Debug)]
pub(crate) struct Memory {
    window: Duration,
    entries: HashMap<Key, (State, DateTime<Utc>)>,
    order: VecDeque<(Key, DateTime<Utc>)>,
}

impl Memory {
    /// Remembers each delivery for `window` after it was last touched.
    pub(crate) fn new(window: Duration) -> Self {
        Memory { window, entries: HashMap::new(), order: VecDeque::new() }
    }

    /// How many deliveries are remembered.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    fn expire(&mut self, now: DateTime<Utc>) {
        while let Some(&(key, at)) = self.order.front() {
            if now - at <= self.window {
                break;
            }
            self.order.pop_front();
            if self.entries.get(&key).is_some_and(|(_, last)| *last == at) {
                self.entries.remove(&key);
            }
        }
    }

    fn set(&mut self, key: Key, state: State, now: DateTime<Utc>) {
        self.entries.insert(key, (state, now));
        self.order.push_back((key, now));
    }

    /// The plain verifier's replay check: `true` the first time a key is seen in the window.
    pub(crate) fn first_sighting(&mut self, key: Key, now: DateTime<Utc>) -> bool {
        self.expire(now);
        if self.entries.contains_key(&key) {
            return false;
        }
        self.set(key, State::Done, now);
        true
    }

    /// The receiver's check before its handler runs: one handler at a time per delivery.
    pub(crate) fn claim(&mut self, key: Key, now: DateTime<Utc>) -> Claim {
        self.expire(now);
        if matches!(self.entries.get(&key), Some((State::InProgress, _))) {
            return Claim::Busy;
        }
        self.set(key, State::InProgress, now);
        Claim::Handle
    }

    /// After the handler, whatever it answered: forgotten. Hero's payload carries no event id,
    /// so a later identical delivery may be a second event (two in one second are
    /// byte-identical): it reaches the handler again rather than risk dropping it.
    pub(crate) fn finish(&mut self, key: Key) {
        if self.entries.get(&key).is_some_and(|(state, _)| *state == State::InProgress) {
            self.entries.remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).unwrap()
    }

    #[test]
    fn a_delivery_is_claimed_while_handled_and_forgotten_after() {
        let mut memory = Memory::new(Duration::seconds(600));
        assert_eq!(memory.claim([1; 32], at(0)), Claim::Handle);
        assert_eq!(memory.claim([1; 32], at(1)), Claim::Busy);
        memory.finish([1; 32]);
        assert_eq!(memory.claim([1; 32], at(3)), Claim::Handle, "handled again: it may be a second event");
        memory.finish([1; 32]);
        assert_eq!(memory.len(), 0);
    }

    #[test]
    fn entries_expire_in_order_and_a_renewed_one_lives_on() {
        let mut memory = Memory::new(Duration::seconds(600));
        assert!(memory.first_sighting([1; 32], at(0)));
        assert!(memory.first_sighting([2; 32], at(100)));
        assert_eq!(memory.claim([3; 32], at(200)), Claim::Handle);
        assert!(!memory.first_sighting([1; 32], at(600)));
        assert!(memory.first_sighting([1; 32], at(601)), "expired, and renewed");
        assert_eq!(memory.len(), 3);
        // [2] expires at 700, the claim on [3] at 800 (a handler that never ended, say).
        assert_eq!(memory.claim([3; 32], at(750)), Claim::Busy);
        assert_eq!(memory.len(), 2);
        assert_eq!(memory.claim([3; 32], at(801)), Claim::Handle);
        assert_eq!(memory.len(), 2, "[1] renewed at 601 lives until 1201");
    }
}

//! The mock's practice groups and their keys, as Hero issues them: one key per practice, and a
//! rotation that retires the old key at once ("The old key stops working straight away").

use std::collections::BTreeMap;

/// Which key a request carried, as the mock judged it (the key itself is never kept).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyUse {
    /// The current key of this practice group.
    #[non_exhaustive]
    Current {
        /// Whose key it is (not always the group the request acted for: a network).
        practice_group_id: String,
        /// Which of its keys: 0 for the first, n after n rotations.
        generation: u32,
    },
    /// A key this practice group used to have, retired by [`MockHero::rotate_key`](super::MockHero::rotate_key):
    /// refused with 401.
    #[non_exhaustive]
    Retired {
        /// Whose key it was.
        practice_group_id: String,
        /// Which of its keys (0 for the first).
        generation: u32,
    },
    /// A key the mock never issued: refused with 401.
    Unknown,
    /// No `x-api-key` header: refused with 401.
    Missing,
}

/// One practice group's key, the keys it had, and the groups it may act for.
#[derive(Debug, Clone)]
struct PracticeKey {
    current: String,
    /// The retired keys, oldest first: the index is the key's generation.
    retired: Vec<String>,
    network: Vec<String>,
}

/// Every practice group the mock serves. `Debug` shows the groups, never a key.
#[derive(Clone, Default)]
pub(crate) struct Practices {
    by_group: BTreeMap<String, PracticeKey>,
}

impl std::fmt::Debug for Practices {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Practices").field("practice_groups", &self.by_group.keys().collect::<Vec<_>>()).finish()
    }
}

impl Practices {
    pub(crate) fn add(&mut self, practice_group_id: &str, key: &str, network: &[String]) {
        let entry = PracticeKey { current: key.to_owned(), retired: Vec::new(), network: network.to_vec() };
        self.by_group.insert(practice_group_id.to_owned(), entry);
    }

    /// Whose key `key` is, and whether it is still current.
    pub(crate) fn judge(&self, key: Option<&str>) -> KeyUse {
        let Some(key) = key else { return KeyUse::Missing };
        for (group, practice) in &self.by_group {
            let practice_group_id = group.clone();
            if practice.current == key {
                return KeyUse::Current { practice_group_id, generation: generation(practice.retired.len()) };
            }
            if let Some(old) = practice.retired.iter().position(|k| k == key) {
                return KeyUse::Retired { practice_group_id, generation: generation(old) };
            }
        }
        KeyUse::Unknown
    }

    /// Whether the holder of a current key may act for `group`: its own, or one of its network.
    pub(crate) fn may_act_for(&self, holder: &str, group: &str) -> bool {
        holder == group || self.by_group.get(holder).is_some_and(|p| p.network.iter().any(|g| g == group))
    }

    pub(crate) fn current(&self, practice_group_id: &str) -> Option<&str> {
        self.by_group.get(practice_group_id).map(|p| p.current.as_str())
    }

    /// Makes `new` the key of `practice_group_id`; the old one is refused from now on.
    pub(crate) fn rotate(&mut self, practice_group_id: &str, new: String) -> Result<String, RotateError> {
        if self.by_group.values().any(|p| p.current == new || p.retired.contains(&new)) {
            return Err(RotateError::KeyInUse);
        }
        let practice = self.by_group.get_mut(practice_group_id).ok_or(RotateError::UnknownGroup)?;
        let old = std::mem::replace(&mut practice.current, new.clone());
        practice.retired.push(old);
        Ok(new)
    }

    /// A fresh key for `practice_group_id`, as Hero would make one.
    pub(crate) fn fresh_key(&self, practice_group_id: &str, random: u64) -> String {
        let generation = self.by_group.get(practice_group_id).map_or(0, |p| p.retired.len() + 1);
        format!("mock-key-{practice_group_id}-{generation}-{random:016x}")
    }

    pub(crate) fn groups(&self) -> Vec<String> {
        self.by_group.keys().cloned().collect()
    }
}

/// Why a rotation was refused.
pub(crate) enum RotateError {
    UnknownGroup,
    KeyInUse,
}

fn generation(index: usize) -> u32 {
    u32::try_from(index).unwrap_or(u32::MAX)
}

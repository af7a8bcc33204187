//! Prepaid balances and what has been spent against them since each was
//! set. The in-memory book is the truth the scheduler reads on every
//! request; the writer persists the sellers it marks as changed.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use serde::Serialize;

/// Share of a balance spent at which a seller is flagged as running low.
pub const LOW_SHARE: f64 = 0.8;

/// One seller's credits.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreditState {
    /// The prepaid balance the sellers file states.
    pub balance: f64,
    /// Spent since the balance was set.
    pub spent: f64,
    /// When the balance was set (ms since the epoch).
    pub since_ms: i64,
}

impl CreditState {
    /// What is left.
    pub fn remaining(&self) -> f64 {
        self.balance - self.spent
    }

    /// Whether at least [`LOW_SHARE`] of the balance is spent.
    pub fn low(&self) -> bool {
        self.spent >= self.balance * LOW_SHARE
    }

    /// Whether nothing is left.
    pub fn exhausted(&self) -> bool {
        self.remaining() <= 0.0
    }
}

/// What the writer must persist for one seller.
#[derive(Debug, Clone, PartialEq)]
pub enum CreditChange {
    /// Upsert this state.
    Set(String, CreditState),
    /// The seller has no credits any more.
    Remove(String),
}

/// A seller's credits and whether the database has them yet.
#[derive(Debug, Clone, Copy)]
struct Entry {
    state: CreditState,
    dirty: bool,
}

#[derive(Debug, Default)]
struct Book {
    sellers: HashMap<String, Entry>,
    // Sellers whose credits were removed and not yet deleted from the database.
    removed: HashSet<String>,
}

/// The credit book.
#[derive(Debug, Default)]
pub struct Credits {
    book: Mutex<Book>,
}

impl Credits {
    /// A book holding what the database had.
    pub fn from_stored(stored: impl IntoIterator<Item = (String, CreditState)>) -> Credits {
        Credits {
            book: Mutex::new(Book {
                sellers: stored
                    .into_iter()
                    .map(|(s, state)| {
                        (
                            s,
                            Entry {
                                state,
                                dirty: false,
                            },
                        )
                    })
                    .collect(),
                removed: HashSet::new(),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Book> {
        self.book.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds `cost` to `seller`'s spend if it has credits; whether it has.
    /// Allocates nothing (it runs on the request path).
    pub fn spend(&self, seller: &str, cost: f64) -> bool {
        match self.lock().sellers.get_mut(seller) {
            Some(e) => {
                e.state.spent += cost;
                e.dirty = true;
                true
            }
            None => false,
        }
    }

    /// `seller`'s credits.
    pub fn get(&self, seller: &str) -> Option<CreditState> {
        self.lock().sellers.get(seller).map(|e| e.state)
    }

    /// Applies the balances the sellers file states: a changed or new
    /// balance starts over at `now_ms`, `None` removes the seller's
    /// credits, an unchanged one keeps its spend. Sellers not listed are
    /// left as they are. Whether anything changed.
    pub fn set_balances(&self, balances: &[(String, Option<f64>)], now_ms: i64) -> bool {
        let mut book = self.lock();
        let mut changed = false;
        for (seller, balance) in balances {
            let current = book.sellers.get(seller).map(|e| e.state);
            match (balance, current) {
                (Some(b), Some(c)) if c.balance == *b => {}
                (Some(b), _) => {
                    let state = CreditState {
                        balance: *b,
                        spent: 0.0,
                        since_ms: now_ms,
                    };
                    book.sellers
                        .insert(seller.clone(), Entry { state, dirty: true });
                    book.removed.remove(seller);
                    changed = true;
                }
                (None, Some(_)) => {
                    book.sellers.remove(seller);
                    book.removed.insert(seller.clone());
                    changed = true;
                }
                (None, None) => {}
            }
        }
        changed
    }

    /// What changed since the last call (for the writer to persist).
    pub fn take_changes(&self) -> Vec<CreditChange> {
        let mut book = self.lock();
        let mut changes: Vec<CreditChange> =
            book.removed.drain().map(CreditChange::Remove).collect();
        for (s, e) in book.sellers.iter_mut().filter(|(_, e)| e.dirty) {
            e.dirty = false;
            changes.push(CreditChange::Set(s.clone(), e.state));
        }
        changes
    }

    /// Puts changes back after a failed write, so the next batch retries them.
    pub fn restore_changes(&self, changes: &[CreditChange]) {
        let mut book = self.lock();
        for c in changes {
            match c {
                CreditChange::Set(s, _) => {
                    if let Some(e) = book.sellers.get_mut(s) {
                        e.dirty = true;
                    }
                }
                CreditChange::Remove(s) => {
                    if !book.sellers.contains_key(s) {
                        book.removed.insert(s.clone());
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &str, v: Option<f64>) -> (String, Option<f64>) {
        (s.to_string(), v)
    }

    #[test]
    fn spend_flags_and_start_over() {
        let c = Credits::default();
        assert!(!c.spend("a", 1.0), "no credits, nothing counted");
        assert!(c.set_balances(&[b("a", Some(10.0))], 5));
        assert!(c.spend("a", 7.9));
        let s = c.get("a").unwrap();
        assert!(!s.low() && !s.exhausted());
        c.spend("a", 0.1);
        assert!(c.get("a").unwrap().low());
        c.spend("a", 2.5);
        let s = c.get("a").unwrap();
        assert!(s.exhausted() && s.remaining() < 0.0);
        assert!(
            !c.set_balances(&[b("a", Some(10.0))], 9),
            "same balance keeps spend"
        );
        assert!((c.get("a").unwrap().spent - 10.5).abs() < 1e-9);
        assert!(c.set_balances(&[b("a", Some(20.0))], 9));
        assert_eq!(
            c.get("a"),
            Some(CreditState {
                balance: 20.0,
                spent: 0.0,
                since_ms: 9
            })
        );
        assert!(c.set_balances(&[b("a", None)], 10));
        assert_eq!(c.get("a"), None);
    }

    #[test]
    fn changes_are_taken_once_and_restorable() {
        let c = Credits::default();
        c.set_balances(&[b("a", Some(1.0)), b("b", Some(2.0))], 0);
        let mut ch = c.take_changes();
        ch.sort_by_key(|c| format!("{c:?}"));
        assert_eq!(ch.len(), 2);
        assert!(c.take_changes().is_empty());
        c.restore_changes(&ch);
        assert_eq!(c.take_changes().len(), 2);
        c.set_balances(&[b("a", None)], 1);
        assert_eq!(c.take_changes(), vec![CreditChange::Remove("a".into())]);
    }
}

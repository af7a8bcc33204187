//! Walking a plan: which seller to try next, whether it is the last one
//! left (never cut off by the TTFT limit), and whether to wait for a slot.
//!
//! First pass, in plan order: sellers that take the request now (not full,
//! circuit closed or a half-open trial, not blocked). Then, as a last resort,
//! those that declined — so a client never gets an error while some seller
//! might still answer. At most [`MAX_SWITCHES`] switches in all.

/// Most switches to another seller within one request.
pub const MAX_SWITCHES: usize = 3;

/// One seller to try.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// Index into the plan's `ranked`.
    pub index: usize,
    /// No other seller will be tried after this one.
    pub last: bool,
    /// A last-resort try: wait briefly for a slot if the seller is full.
    pub last_resort: bool,
}

/// The state of one request's walk over its plan.
#[derive(Debug, Clone)]
pub struct Walk {
    len: usize,
    next: usize,
    tried: usize,
    deferred: Vec<usize>,
    /// `Some(k)`: in the last-resort pass, at `deferred[k]`.
    resort: Option<usize>,
}

impl Walk {
    /// A walk over a plan of `len` sellers.
    pub fn new(len: usize) -> Self {
        Walk {
            len,
            next: 0,
            tried: 0,
            deferred: Vec::new(),
            resort: None,
        }
    }

    /// The next seller to try. `takes(i)` says whether seller `i` takes the
    /// request now; it is asked once per seller, in order, in the first pass.
    pub fn next(&mut self, mut takes: impl FnMut(usize) -> bool) -> Option<Step> {
        if self.resort.is_none() {
            while self.next < self.len && self.tried <= MAX_SWITCHES {
                let i = self.next;
                self.next += 1;
                if !takes(i) {
                    self.deferred.push(i);
                    continue;
                }
                let last = (self.next == self.len && self.deferred.is_empty())
                    || self.tried == MAX_SWITCHES;
                self.tried += 1;
                return Some(Step {
                    index: i,
                    last,
                    last_resort: false,
                });
            }
            let room = (MAX_SWITCHES + 1).saturating_sub(self.tried);
            self.deferred.truncate(room);
            self.resort = Some(0);
        }
        let k = self.resort?;
        let index = *self.deferred.get(k)?;
        self.resort = Some(k + 1);
        self.tried += 1;
        Some(Step {
            index,
            last: k + 1 == self.deferred.len(),
            last_resort: true,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn walk(len: usize, takes: &[bool]) -> Vec<(usize, bool, bool)> {
        let mut w = Walk::new(len);
        let mut out = Vec::new();
        while let Some(s) = w.next(|i| takes[i]) {
            out.push((s.index, s.last, s.last_resort));
        }
        out
    }

    #[test]
    fn ready_sellers_in_order_then_the_rest_as_last_resort() {
        assert_eq!(
            walk(3, &[true, true, true]),
            [(0, false, false), (1, false, false), (2, true, false)]
        );
        assert_eq!(
            walk(3, &[false, true, true]),
            [(1, false, false), (2, false, false), (0, true, true)]
        );
        assert_eq!(
            walk(2, &[false, false]),
            [(0, false, true), (1, true, true)]
        );
        assert_eq!(walk(0, &[]), []);
    }

    #[test]
    fn at_most_three_switches() {
        let all = walk(6, &[true; 6]);
        assert_eq!(all.len(), MAX_SWITCHES + 1);
        assert!(all[3].1, "the fourth try is the last");
        let mixed = walk(6, &[false, true, false, true, true, true]);
        assert_eq!(
            mixed,
            [
                (1, false, false),
                (3, false, false),
                (4, false, false),
                (5, true, false)
            ]
        );
        let resort = walk(5, &[false, false, true, false, true]);
        assert_eq!(
            resort,
            [
                (2, false, false),
                (4, false, false),
                (0, false, true),
                (1, true, true)
            ]
        );
    }
}

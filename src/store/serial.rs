//! One job at a time, shared by whoever asked before it started: the store's flushes and status
//! snapshots. Each caller takes a ticket, then runs the job unless a run that started after its
//! ticket already finished. A hundred crawls ending together cause a few flushes, never a
//! hundred at once.

use super::StoreError;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Default)]
pub(super) struct Serial {
    /// Tickets handed out so far (the last one's number).
    requested: AtomicU64,
    /// The highest ticket a finished run covers; held while a run is going.
    covered: Mutex<u64>,
}

impl Serial {
    /// A ticket for what was written up to now.
    pub fn ticket(&self) -> u64 {
        self.requested.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// Whether a run that finished already covers `ticket`.
    pub fn covers(&self, ticket: u64) -> bool {
        match self.covered.try_lock() {
            Ok(covered) => *covered >= ticket,
            // Busy or poisoned: not known to be covered.
            Err(_) => false,
        }
    }

    /// Runs `job` for `ticket`, unless a run started after the ticket was taken has finished
    /// meanwhile. A failed run covers nothing, so the next caller tries again.
    pub fn run(
        &self,
        ticket: u64,
        job: impl FnOnce() -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        // A panic in an earlier job left the counter as it was: still correct.
        let mut covered = self
            .covered
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if *covered >= ticket {
            return Ok(());
        }
        // Every ticket handed out before the job starts is covered by it.
        let upto = self.requested.load(Ordering::SeqCst);
        job()?;
        *covered = upto;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn callers_waiting_together_share_one_run() {
        let serial = Arc::new(Serial::default());
        let runs = Arc::new(AtomicUsize::new(0));
        let first = serial.ticket();
        // Hold the lock as a running job would while others queue up.
        let threads: Vec<_> = {
            let _running = serial.covered.lock().unwrap_or_else(|e| e.into_inner());
            (0..8)
                .map(|_| {
                    let (serial, runs) = (serial.clone(), runs.clone());
                    let ticket = serial.ticket();
                    std::thread::spawn(move || {
                        serial.run(ticket, || {
                            runs.fetch_add(1, Ordering::SeqCst);
                            std::thread::sleep(std::time::Duration::from_millis(20));
                            Ok(())
                        })
                    })
                })
                .collect()
        };
        for t in threads {
            assert!(t.join().is_ok_and(|r| r.is_ok()));
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1, "one run covers all eight");
        assert!(serial.covers(first));
        let later = serial.ticket();
        assert!(!serial.covers(later), "a later ticket needs a later run");
        assert!(
            serial
                .run(later, || Err(StoreError::Interrupted("test")))
                .is_err()
        );
        assert!(!serial.covers(later), "a failed run covers nothing");
    }
}

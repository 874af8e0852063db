//! Many resources at once: each entry point runs on its own thread, at most `parallel` at a time,
//! so that their waits (DelayAfterGuestOnline, DelayAfterGuestOffline, a migration's copy)
//! overlap. Every per-resource check still runs inside the entry point itself.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// `run` on every item, at most `parallel` at a time (at least one); the results in the items'
/// order, whatever order they finish in.
pub fn bounded<T: Sync, R: Send>(
    items: &[T],
    parallel: usize,
    run: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<R>>> = Mutex::new(items.iter().map(|_| None).collect());
    let workers = parallel.clamp(1, items.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(i) else { break };
                    let result = run(item);
                    // A poisoned lock only means another worker panicked; its slot stays empty.
                    results.lock().unwrap_or_else(|p| p.into_inner())[i] = Some(result);
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .into_iter()
        .map(|r| {
            r.expect("every item was run: a worker that panicked re-raises at the scope's end")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::bounded;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[test]
    fn results_keep_the_items_order_and_no_more_than_parallel_run_at_once() {
        let running = AtomicUsize::new(0);
        let most = AtomicUsize::new(0);
        let items: Vec<u64> = (0..12).collect();
        let results = bounded(&items, 3, |&i| {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(now, Ordering::SeqCst);
            // Later items finish first, so that order comes from the slots, not from finishing.
            std::thread::sleep(Duration::from_millis(40 - 3 * i));
            running.fetch_sub(1, Ordering::SeqCst);
            i * 10
        });
        assert_eq!(results, (0..12).map(|i| i * 10).collect::<Vec<_>>());
        assert_eq!(most.load(Ordering::SeqCst), 3);
        assert!(bounded(&[] as &[u8], 4, |_| ()).is_empty());
        assert_eq!(bounded(&[7], 0, |&x| x), [7]);
    }
}

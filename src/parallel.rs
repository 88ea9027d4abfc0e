//! Order-keeping parallel map over a slice, on every core (at most 8 threads): loading a
//! migration folder is thousands of independent reads and parses.

/// `items.iter().map(f).collect()`, computed on several threads, in the same order.
/// Small inputs stay on the calling thread, where spawning would cost more than it saves.
pub fn map_chunks<T, R, F>(items: &[T], f: F) -> Vec<R>
where
    T: Sync,
    R: Send,
    F: Fn(&T) -> R + Sync,
{
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    if threads == 1 || items.len() < 64 {
        return items.iter().map(&f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    let f = &f;
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| {
                let spawned = std::thread::Builder::new()
                    .spawn_scoped(scope, move || part.iter().map(f).collect::<Vec<R>>());
                (part, spawned.ok())
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|(part, handle)| {
                // A chunk whose thread could not start (a container's process limit) or
                // panicked is done here, so that no item is lost; callers whose work can panic
                // catch it per item.
                match handle.map(|h| h.join()) {
                    Some(Ok(done)) => done,
                    _ => part.iter().map(f).collect(),
                }
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::map_chunks;

    #[test]
    fn keeps_the_order_of_large_and_small_inputs() {
        let large: Vec<u32> = (0..1000).collect();
        assert_eq!(
            map_chunks(&large, |n| n * 2),
            large.iter().map(|n| n * 2).collect::<Vec<_>>()
        );
        assert_eq!(map_chunks(&[1, 2, 3], |n| n + 1), vec![2, 3, 4]);
        assert!(map_chunks(&[] as &[u32], |n| *n).is_empty());
    }
}

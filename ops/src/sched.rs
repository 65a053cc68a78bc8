//! Scheduling classes of the server's threads. On a busy machine the group-commit writer is the
//! one serial resource every run waits on, and it hands each statement to its database
//! connection's thread and back: each hand-over waits for a CPU. The runtime's workers (request
//! handlers, run actors, steps) therefore run as `SCHED_BATCH`, which the kernel never lets
//! preempt a waking thread of the normal class, while the writer's threads stay in (or return
//! to) the normal class. Neither needs a privilege; nice values stay at 0. Elsewhere than on Linux
//! both calls do nothing.

/// Marks the calling thread as throughput work: it yields the CPU to waking latency-critical
/// threads (the runtime's workers call this as they start).
pub fn throughput_thread() {
    #[cfg(target_os = "linux")]
    set(thread_priority::NormalThreadSchedulePolicy::Batch);
}

/// Marks the calling thread as latency-critical (the normal class): the threads it starts
/// inherit that, whatever started it.
pub fn latency_critical_thread() {
    #[cfg(target_os = "linux")]
    set(thread_priority::NormalThreadSchedulePolicy::Other);
}

#[cfg(target_os = "linux")]
fn set(policy: thread_priority::NormalThreadSchedulePolicy) {
    use thread_priority::{
        ThreadPriority, ThreadPriorityOsValue, ThreadSchedulePolicy, set_thread_priority_and_policy, thread_native_id,
    };
    // the crate sets the nice value it is given along with the class: the default, 0
    let nice = ThreadPriority::Os(ThreadPriorityOsValue::default());
    if let Err(err) = set_thread_priority_and_policy(thread_native_id(), nice, ThreadSchedulePolicy::Normal(policy)) {
        tracing::debug!(?err, ?policy, "the thread keeps its scheduling class");
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use thread_priority::{NormalThreadSchedulePolicy, ThreadSchedulePolicy, thread_schedule_policy};

    #[test]
    fn a_thread_moves_between_the_classes_and_back() {
        std::thread::spawn(|| {
            super::throughput_thread();
            let batch = ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Batch);
            assert_eq!(thread_schedule_policy().unwrap(), batch);
            // what a throughput thread starts inherits its class, until it says otherwise
            let inherited = std::thread::spawn(thread_schedule_policy).join().unwrap().unwrap();
            assert_eq!(inherited, batch);
            let child = std::thread::spawn(|| {
                super::latency_critical_thread();
                thread_schedule_policy().unwrap()
            });
            assert_eq!(child.join().unwrap(), ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Other));
        })
        .join()
        .unwrap();
    }
}

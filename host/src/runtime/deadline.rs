//! How long one call into the plugin may take: a CPU deadline, and a
//! wall-clock bound.
//!
//! Epoch interruption alone counts wall-clock time and is only checked when
//! control is back in wasm, so a write blocked for 14 s on a slow receiver
//! trapped the instance when it returned, losing what it held. Here the
//! epoch is only the alarm: when it rings, the deadline callback asks how
//! much CPU this thread spent in the call. Time blocked in a host call costs
//! no CPU, so it never trips the CPU deadline (`Limits::call_deadline`,
//! 5 s); a spinning plugin does, after exactly that much CPU.
//!
//! The wall-clock bound stops a plugin that blocks on purpose (sleeping in
//! a loop costs no CPU). It is the CPU deadline plus the time the call may
//! legitimately wait: the handler's flush/block timeout and two write
//! timeouts. Handlers' own timeouts end their blocking host calls well
//! before it.

use std::time::{Duration, Instant};

use wasmtime::{Store, UpdateDeadline};

/// The epoch ticks this often; a deadline is a number of ticks.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Limits of the call in progress, in the store's data.
#[derive(Debug, Clone)]
pub struct CallClock {
    cpu_limit: Duration,
    wall_limit: Duration,
    started: Instant,
    started_cpu: Duration,
}

impl CallClock {
    pub fn new(cpu_limit: Duration) -> CallClock {
        CallClock { cpu_limit, wall_limit: cpu_limit, started: Instant::now(), started_cpu: thread_cpu_time() }
    }

    /// The epoch rang: trap if a limit is reached, else say when to look again.
    pub fn check(&self) -> wasmtime::Result<UpdateDeadline> {
        let cpu = thread_cpu_time().saturating_sub(self.started_cpu);
        let wall = self.started.elapsed();
        if cpu >= self.cpu_limit {
            return Err(wasmtime::Error::msg(format!(
                "the plugin used {:.2} s of CPU in one call, over its {:.1} s CPU deadline (Limits::call_deadline)",
                cpu.as_secs_f64(),
                self.cpu_limit.as_secs_f64()
            )));
        }
        if wall >= self.wall_limit {
            return Err(wasmtime::Error::msg(format!(
                "one call into the plugin took {:.1} s, over its {:.1} s wall-clock bound (the CPU deadline plus \
                 the handler's flush/block timeout and two write timeouts)",
                wall.as_secs_f64(),
                self.wall_limit.as_secs_f64()
            )));
        }
        let left = (self.cpu_limit - cpu).min(self.wall_limit - wall);
        Ok(UpdateDeadline::Continue(ticks(left)))
    }
}

/// Starts a call: the clock restarts and the alarm is set.
pub fn begin_call<T: AsMut<CallClock>>(store: &mut Store<T>, wall_limit: Duration) {
    let clock = store.data_mut().as_mut();
    clock.wall_limit = wall_limit.max(clock.cpu_limit);
    clock.started = Instant::now();
    clock.started_cpu = recent_thread_cpu_time(clock.started);
    let first = clock.cpu_limit.min(clock.wall_limit);
    store.set_epoch_deadline(ticks(first));
}

/// Installs the callback that turns the epoch alarm into the checks above.
pub fn install<T: AsMut<CallClock> + 'static>(store: &mut Store<T>) {
    store.epoch_deadline_callback(|mut ctx| ctx.data_mut().as_mut().check());
}

fn ticks(d: Duration) -> u64 {
    (d.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64
}

thread_local! {
    /// This thread's last CPU-clock reading, and when it was taken.
    static LAST_CPU_READING: std::cell::Cell<Option<(Instant, Duration)>> = const { std::cell::Cell::new(None) };
}

/// This thread's CPU time as a call's starting point, read at most once per
/// epoch tick. Reading the thread CPU clock is a system call (about 0.3 us
/// here, a twentieth of a `make-pickle`); calls that follow each other
/// within a tick start from the first one's reading instead. That reading
/// is earlier, never later, than the truth, so a call is charged for what
/// it used plus at most one tick of this thread's CPU before it: the
/// deadline can only trip sooner, by at most 10 ms of its 5 s.
fn recent_thread_cpu_time(now: Instant) -> Duration {
    LAST_CPU_READING.with(|last| match last.get() {
        Some((at, cpu)) if now.saturating_duration_since(at) < EPOCH_TICK => cpu,
        _ => {
            let cpu = thread_cpu_time();
            last.set(Some((now, cpu)));
            cpu
        }
    })
}

/// CPU time this thread has used. The plugin runs on the calling thread,
/// so the difference over a call is what the call cost.
pub fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes one timespec into the pointer we own.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return Duration::ZERO;
    }
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocking_costs_no_cpu_but_spinning_does() {
        let clock = CallClock { wall_limit: Duration::from_secs(60), ..CallClock::new(Duration::from_millis(50)) };
        std::thread::sleep(Duration::from_millis(80));
        assert!(clock.check().is_ok(), "sleeping is not CPU");
        // Spin until this thread has really had 100 ms of CPU (bounded).
        let (start, give_up) = (thread_cpu_time(), Instant::now() + Duration::from_secs(30));
        while thread_cpu_time() - start < Duration::from_millis(100) && Instant::now() < give_up {
            std::hint::black_box(0u64);
        }
        let err = clock.check().err().expect("over the CPU deadline").to_string();
        assert!(err.contains("CPU deadline"), "{err}");
        let walled = CallClock { wall_limit: Duration::from_millis(10), ..CallClock::new(Duration::from_secs(5)) };
        std::thread::sleep(Duration::from_millis(20));
        assert!(walled.check().err().expect("over the wall bound").to_string().contains("wall-clock"));
    }

    #[test]
    fn a_calls_starting_point_is_never_after_the_truth_and_at_most_a_tick_before() {
        let give_up = Instant::now() + Duration::from_secs(30);
        let mut fresh_readings = 0;
        while fresh_readings < 3 && Instant::now() < give_up {
            let before = thread_cpu_time();
            let start = recent_thread_cpu_time(Instant::now());
            let after = thread_cpu_time();
            assert!(start <= after, "a starting point after the clock would let a call use more than its deadline");
            assert!(before.saturating_sub(start) <= EPOCH_TICK, "a reading older than a tick: {:?}", before - start);
            fresh_readings += usize::from(start >= before);
            // Spin a little CPU so that the thread clock moves between calls.
            let spin = thread_cpu_time();
            while thread_cpu_time() - spin < Duration::from_millis(2) && Instant::now() < give_up {
                std::hint::black_box(0u64);
            }
        }
        assert_eq!(fresh_readings, 3, "the reading is taken again once a tick has passed");
        // Another thread never starts from this thread's reading.
        let here = recent_thread_cpu_time(Instant::now());
        let there = std::thread::spawn(|| (recent_thread_cpu_time(Instant::now()), thread_cpu_time())).join().unwrap();
        assert!(there.0 <= there.1 && there.0 < here.max(Duration::from_millis(1)), "{there:?} against {here:?}");
    }
}

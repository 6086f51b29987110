//! Password checks on a few dedicated threads.
//!
//! An argon2 check takes 19 MiB and a core for tens of milliseconds. The
//! allocator keeps that memory per thread after the check, so running checks
//! on the runtime's ever-changing blocking threads would leave many such
//! blocks behind after a burst of log-ins. A fixed set of threads bounds the
//! CPU that log-ins can take.
//!
//! Each worker keeps its argon2 working memory between checks, so a burst of
//! log-ins costs no allocation beyond one block buffer per worker.

use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{mpsc, oneshot};

use crate::users::UserDirectory;

/// Checks queued before log-ins wait for a free slot.
const QUEUE: usize = 64;

struct Job {
    user: String,
    password: String,
    reply: oneshot::Sender<bool>,
}

/// Sends password checks to the worker threads; they stop when it is dropped.
pub(crate) struct PasswordChecker {
    jobs: mpsc::Sender<Job>,
}

impl PasswordChecker {
    /// Starts `threads` workers (at least one) checking against `users`.
    pub(crate) fn start(users: Arc<UserDirectory>, threads: usize) -> std::io::Result<Self> {
        let (jobs, queue) = mpsc::channel::<Job>(QUEUE);
        let queue = Arc::new(Mutex::new(queue));
        for index in 0..threads.max(1) {
            let (users, queue) = (Arc::clone(&users), Arc::clone(&queue));
            std::thread::Builder::new()
                .name(format!("password-check-{index}"))
                .spawn(move || work(&users, &queue))?;
        }
        Ok(PasswordChecker { jobs })
    }

    /// True when `password` is right for `user`; false also when the workers
    /// are gone.
    pub(crate) async fn check(&self, user: &str, password: &str) -> bool {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            user: user.to_owned(),
            password: password.to_owned(),
            reply,
        };
        if self.jobs.send(job).await.is_err() {
            return false;
        }
        answer.await.unwrap_or(false)
    }
}

fn work(users: &UserDirectory, queue: &Mutex<mpsc::Receiver<Job>>) {
    let mut memory: Vec<argon2::Block> = Vec::new();
    loop {
        // Only one idle worker waits on the queue at a time; the lock is
        // released before the check runs.
        let next = queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .blocking_recv();
        let Some(job) = next else {
            return;
        };
        let verdict = users.verify_password_in(&job.user, &job.password, &mut memory);
        let _ = job.reply.send(verdict);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::users::{DEFAULT_PASSWORD, DEFAULT_USER};

    #[tokio::test]
    async fn checks_on_worker_threads() {
        let users = Arc::new(UserDirectory::load(None).unwrap());
        let checker = PasswordChecker::start(users, 2).unwrap();
        assert!(checker.check(DEFAULT_USER, DEFAULT_PASSWORD).await);
        assert!(!checker.check(DEFAULT_USER, "nope").await);
    }
}

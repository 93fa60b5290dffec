//! The queue's jobs ([`Job`]) and what each is told once its batch has ended
//! ([`Completion`], [`Done`], `Ack`).

use jifen_core::Entry;

use super::append::Append;
use super::batch::Batch;
use crate::error::{Result, StoreError};

/// What a job reports once its batch committed (`Ok`) or failed (`Err`).
pub type Completion = Box<dyn FnOnce(Result<(), &StoreError>) + Send>;
/// A unit of work run inside a batch's transaction.
pub enum Job {
    /// One append, checked without a savepoint ([`Batch::append`] writes nothing it
    /// refuses); `done` gets the entry once the batch is durable. Unboxed: the queue
    /// carries it by value, so the common path allocates no job and no completion.
    Append(Append, Done),
    /// Anything else, run inside the batch's transaction; with `None` when the batch
    /// could not begin (the database is away): then it runs nothing, and the
    /// completion it returns is told why.
    Run(Box<dyn FnOnce(Option<&mut Batch<'_>>) -> Completion + Send>),
}

/// What an appender is told once its batch has ended.
pub type Done = Box<dyn FnOnce(Result<Entry>) + Send>;

/// A job's part once the batch has ended.
pub(super) enum Ack {
    Append(Result<Entry>, Done),
    Run(Completion),
}

impl Ack {
    /// Answers the job. A completion that panics is logged and goes no further: the
    /// other jobs of its batch, and of the batches after it, are answered still.
    pub(super) fn call(self, commit: Result<(), &StoreError>) {
        let answered =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.answer(commit)));
        if answered.is_err() {
            tracing::error!("a write's completion panicked");
        }
    }

    fn answer(self, commit: Result<(), &StoreError>) {
        match self {
            Ack::Append(r, done) => done(match commit {
                Ok(()) => r,
                Err(e) => Err(e.for_batch()),
            }),
            Ack::Run(c) => c(commit),
        }
    }
}

//! The promotion engine (reference §3.2–3.5).
//!
//! ```text
//!  expanded steps ──▶ orchestrator::run ──┬─ skip?  (`if`, default: earlier failure)
//!                     (from progress.      ├─ vars + config evaluated (convoy-expr, step scope)
//!                      current_step)       ├─ StepRunner::run            (built-in steps)
//!                                          ├─ outputs into state, compose-output to the task
//!                                          └─ journal.record(progress)  before the next step
//! ```
//!
//! The orchestrator decides; runners act. Progress (step metadata, outputs, current step) is
//! written through [`Journal`] after every step, so a promotion resumes where it stopped.

mod masking;
mod orchestrator;
mod progress;
mod runner;

pub use orchestrator::{Clock, Orchestrator, Outcome, PromotionContext};
pub use progress::{Phase, Progress, StepMeta, StepStatus};
pub use runner::{
    NoResources, Registry, RepoCredentials, ResourceError, Resources, StepContext, StepError, StepResult, StepRunner,
    decode_config,
};

/// Where progress is persisted between steps (the Promotion's status, in the server).
/// The journal could not be written; the promotion does not advance until it can.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct JournalError(pub String);

#[async_trait::async_trait]
pub trait Journal: Send {
    async fn record(&mut self, progress: &Progress) -> Result<(), JournalError>;

    /// Called when a step is about to run, after its start is recorded.
    async fn starting(&mut self, _alias: &str) {}

    /// Whether someone asked to abort the promotion (checked before every step).
    async fn abort_requested(&mut self) -> Option<String> {
        None
    }
}

/// A journal that keeps nothing (tests, dry runs).
pub struct NoJournal;

#[async_trait::async_trait]
impl Journal for NoJournal {
    async fn record(&mut self, _progress: &Progress) -> Result<(), JournalError> {
        Ok(())
    }
}

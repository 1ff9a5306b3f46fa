//! Git for Convoy, through the `git` command line (as Kargo does: every protocol and auth
//! method git knows).
//!
//! ```text
//!  Mirrors::work_tree(url) ──▶ Mirrors::sync(url)         bare mirror per repository,
//!        │                       (clone --mirror, then     fetched incrementally under a
//!        │                        fetch --prune)           per-repository lock
//!        ▼
//!  clone --shared from the mirror ──▶ checkout ──▶ edit, commit ──▶ push (serialised per
//!                                                                    repository and branch,
//!                                                                    fetch + rebase + retry)
//! ```
//!
//! Every git process gets a scrubbed environment (no inherited `GIT_*`, no global or system
//! config, no hooks, no fsmonitor), no terminal prompt, only network transports unless
//! [`allow_file_remotes`], and credentials through a credential helper that reads variables set
//! on that process only and answers only the URL's own host. Ref names, commit ids and URLs
//! are checked (`refs.rs`) and passed after `--end-of-options`. URLs in errors and logs are
//! redacted.

mod command;
mod mirror;
mod pool;
mod read;
mod redact;
mod refs;
#[cfg(feature = "testing")]
pub mod testing;
mod worktree;

pub use command::{Credentials, GitError, Signature};
/// git commands run and their durations (Prometheus).
pub use command::{DURATION as OPERATION_DURATION, OPERATIONS};
pub use mirror::{Mirrors, TreeRequest};
pub use pool::return_trees;
pub use read::{BranchPair, CommitInfo, TagInfo, ls_remote, probe_push};
pub use redact::redact;
pub use refs::{allow_file_remotes, check_commit, check_ref_name, check_remote, is_local};
pub use worktree::{Checkout, PushOutcome, WorkTree};

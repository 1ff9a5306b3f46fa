//! A named lock among the replicas that share a store: the controllers run where it is held.

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Held until dropped, or until [`Lease::lost`] resolves (the connection keeping it broke).
pub struct Lease {
    lost: Option<oneshot::Receiver<String>>,
    holder: Option<JoinHandle<()>>,
}

impl Lease {
    /// For stores only one process uses: nobody else can want it, it is never lost.
    pub fn exclusive() -> Lease {
        Lease { lost: None, holder: None }
    }

    /// Kept alive by `holder`, which reports on `lost` if it can no longer keep it.
    pub fn held(lost: oneshot::Receiver<String>, holder: JoinHandle<()>) -> Lease {
        Lease { lost: Some(lost), holder: Some(holder) }
    }

    /// Resolves with the reason when the lease is lost; never for an exclusive one.
    pub async fn lost(&mut self) -> String {
        match &mut self.lost {
            Some(lost) => lost.await.unwrap_or_else(|_| "the lease's holder stopped".to_owned()),
            None => std::future::pending().await,
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        // Ending the holder closes its connection, which releases the lock for the others.
        if let Some(holder) = &self.holder {
            holder.abort();
        }
    }
}

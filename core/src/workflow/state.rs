//! The state machines of a run and of its steps: the states, and which moves between them
//! are legal. Every move the engine makes is checked here first, so an operation the
//! current state does not allow (resolving a completed step, cancelling a finished run) is
//! refused with both states named, and the stored audit trail only ever shows legal moves.

use crate::error::{Error, Result};

/// Where a run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RunState {
    /// Some step is waiting, ready or running.
    Running,
    /// Every step completed.
    Completed,
    /// A step failed, and every step that could still finish has finished. A retried or
    /// resolved step, or a replay, makes it run again.
    Failed,
    /// Cancelled by an operator; nothing of it runs again.
    Cancelled,
}

/// Where a step is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StepState {
    /// Some parent has not completed yet.
    Waiting,
    /// Its job is enqueued.
    Ready,
    Running,
    /// An attempt failed (or its worker was lost); it runs again after its backoff.
    Retrying,
    Completed,
    /// Its last attempt failed.
    Failed,
    /// An ancestor failed: it cannot run until that one is retried or resolved.
    Blocked,
    Cancelled,
}

impl RunState {
    pub const ALL: [RunState; 4] = [RunState::Running, RunState::Completed, RunState::Failed, RunState::Cancelled];

    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Running => "running",
            RunState::Completed => "completed",
            RunState::Failed => "failed",
            RunState::Cancelled => "cancelled",
        }
    }

    pub fn parse(text: &str) -> Result<RunState> {
        RunState::ALL.into_iter().find(|state| state.as_str() == text).ok_or_else(|| unknown("workflow run", text))
    }

    /// Whether nothing more happens to the run unless an operator acts.
    pub fn is_finished(self) -> bool {
        self != RunState::Running
    }

    /// Whether the run may move to `to`. A finished run runs again only through an
    /// operator's retry, resolve or replay; a cancelled one never does. A failed run
    /// completes at once when an operator resolves its last failed step and nothing is left
    /// to run.
    pub fn allows(self, to: RunState) -> bool {
        use RunState::*;
        matches!((self, to), (Running, Completed | Failed | Cancelled) | (Completed | Failed, Running) | (Failed, Cancelled | Completed))
    }
}

impl StepState {
    pub const ALL: [StepState; 8] = [
        StepState::Waiting,
        StepState::Ready,
        StepState::Running,
        StepState::Retrying,
        StepState::Completed,
        StepState::Failed,
        StepState::Blocked,
        StepState::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            StepState::Waiting => "waiting",
            StepState::Ready => "ready",
            StepState::Running => "running",
            StepState::Retrying => "retrying",
            StepState::Completed => "completed",
            StepState::Failed => "failed",
            StepState::Blocked => "blocked",
            StepState::Cancelled => "cancelled",
        }
    }

    pub fn parse(text: &str) -> Result<StepState> {
        StepState::ALL.into_iter().find(|state| state.as_str() == text).ok_or_else(|| unknown("workflow step", text))
    }

    /// Whether the step still has work ahead of it: its run is not over while one does.
    pub fn is_active(self) -> bool {
        matches!(self, StepState::Waiting | StepState::Ready | StepState::Running | StepState::Retrying)
    }

    /// Whether a job of the step is enqueued or running.
    pub fn has_job(self) -> bool {
        matches!(self, StepState::Ready | StepState::Running | StepState::Retrying)
    }

    /// Whether the step may move to `to`.
    pub fn allows(self, to: StepState) -> bool {
        use StepState::*;
        match (self, to) {
            (Waiting, Ready | Blocked | Cancelled) => true,
            (Ready, Running | Cancelled) => true,
            // Released at a stop or its lease lost: back in line.
            (Running, Completed | Retrying | Failed | Ready | Cancelled) => true,
            // Its worker lost before the retry, the lease expired on the last attempt.
            (Retrying, Running | Failed | Cancelled) => true,
            // Retried, resolved, or replayed (Waiting, Ready).
            (Failed, Ready | Completed | Waiting) => true,
            // Its failed ancestor retried or resolved.
            (Blocked, Waiting | Ready | Cancelled) => true,
            // Replayed.
            (Completed, Waiting | Ready) => true,
            _ => false,
        }
    }
}

/// Refuses a move `what` cannot make, naming both states.
pub(crate) fn refuse(what: String, from: &str, to: &str, reason: impl Into<String>) -> Error {
    Error::InvalidWorkflowState { what, from: from.to_owned(), to: to.to_owned(), reason: reason.into() }
}

fn unknown(what: &str, text: &str) -> Error {
    Error::Database { message: format!("a {what} has the unknown state `{text}`; was the database written by a newer cogwork?") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_read_back_as_written() {
        for state in StepState::ALL {
            assert_eq!(StepState::parse(state.as_str()).unwrap(), state);
        }
        for state in RunState::ALL {
            assert_eq!(RunState::parse(state.as_str()).unwrap(), state);
        }
        assert!(StepState::parse("resting").is_err());
    }

    #[test]
    fn finished_steps_move_only_by_an_operator() {
        assert!(!StepState::Completed.allows(StepState::Failed));
        assert!(!StepState::Cancelled.allows(StepState::Ready));
        assert!(!StepState::Waiting.allows(StepState::Running));
        assert!(StepState::Failed.allows(StepState::Completed));
        assert!(!RunState::Cancelled.allows(RunState::Running));
        assert!(!RunState::Completed.allows(RunState::Cancelled));
        assert!(RunState::Failed.allows(RunState::Completed));
        assert!(!RunState::Completed.allows(RunState::Failed));
    }
}
